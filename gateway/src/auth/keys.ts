import { importJWK, type CryptoKey, type JWK } from "jose";
import { request } from "undici";
import { isHmacAlgorithm, type JwtAlgorithm } from "@todo-gateway/config";
import { InvalidTokenError, KeysUnavailableError } from "../errors.ts";

/** What the resolver reports to metrics and logs; names fixed in ops/metrics.ts. */
export interface KeyResolverEvents {
  onFetch?(result: "success" | "failure", detail: { keys?: number; error?: unknown }): void;
}

export interface KeyResolverOptions {
  readonly jwksUrl: string | undefined;
  readonly hmacSecret: string | undefined;
  readonly algorithms: readonly JwtAlgorithm[];
  /** Minimum time between fetches caused by an unknown `kid` (30 s, as jose's remote key set). */
  readonly unknownKidCooldownMs?: number;
  /** Bounds on the background refresh period taken from the JWKS's Cache-Control max-age. */
  readonly minRefreshMs?: number;
  readonly maxRefreshMs?: number;
  /** Refresh period when the JWKS sends no max-age. */
  readonly defaultRefreshMs?: number;
  readonly fetchTimeoutMs?: number;
  /** Largest JWKS document read, in bytes; the read stops there. */
  readonly maxJwksBytes?: number;
  readonly events?: KeyResolverEvents;
  readonly now?: () => number;
}

export type VerifyKey = CryptoKey | Uint8Array;

/** Keys for one token, and the generation of the key set they come from. */
export interface KeyCandidates {
  readonly keys: readonly VerifyKey[];
  readonly generation: number;
}

interface PublishedKey {
  readonly fingerprint: string;
  /** The imported keys per algorithm this kid may verify (several when a JWKS repeats a kid). */
  readonly byAlg: ReadonlyMap<string, readonly CryptoKey[]>;
}

/**
 * The background refresh never runs more often than this, whatever max-age the JWKS sends. With
 * rotation on, the auth-service sends max-age = lead / 2 (at most an hour) with a lead of at
 * least 10 s, so a key published ahead is fetched at least twice before it signs.
 */
const MIN_REFRESH_MS = 1_000;
const MAX_JWKS_BYTES = 512 * 1024;
const MAX_JWKS_KEYS = 100;
const MAX_KEYS_PER_KID = 4;

/**
 * The one long-lived key source, created at boot: HS* tokens use the shared secret; every other
 * algorithm uses keys fetched from `JWKS_URL` only (never from a token's `jku`, `x5u`, `jwk` or
 * `x5c`). Keys are refreshed in the background as the JWKS's Cache-Control says (down to
 * {@link MIN_REFRESH_MS}), an unknown `kid` triggers at most one fetch per cooldown shared by all
 * waiting requests, and cached keys survive a JWKS outage.
 *
 * `generation` changes whenever a key that was served before is retired or replaced: a verdict
 * reached under an older generation must not be trusted from a cache any more.
 */
export class KeyResolver {
  private keys = new Map<string, PublishedKey>();
  private loaded = false;
  private inflight: Promise<void> | undefined;
  private lastMissFetchAt = Number.NEGATIVE_INFINITY;
  private refreshTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private keyGeneration = 0;
  /** Keys imported from the last document, by algorithm and public members. */
  private imported = new Map<string, CryptoKey>();
  private lastSuccessAt: number | undefined;
  private readonly hmacKeys: readonly Uint8Array[];
  private readonly asymmetric: readonly JwtAlgorithm[];
  private readonly now: () => number;
  private readonly cooldownMs: number;
  private readonly minRefreshMs: number;
  private readonly maxRefreshMs: number;
  private readonly defaultRefreshMs: number;
  private readonly fetchTimeoutMs: number;
  private readonly maxJwksBytes: number;

  constructor(private readonly options: KeyResolverOptions) {
    this.hmacKeys = options.hmacSecret === undefined ? [] : [new TextEncoder().encode(options.hmacSecret)];
    this.asymmetric = options.algorithms.filter((alg) => !isHmacAlgorithm(alg));
    this.now = options.now ?? Date.now;
    this.cooldownMs = options.unknownKidCooldownMs ?? 30_000;
    this.minRefreshMs = options.minRefreshMs ?? MIN_REFRESH_MS;
    this.maxRefreshMs = options.maxRefreshMs ?? 15 * 60_000;
    this.defaultRefreshMs = options.defaultRefreshMs ?? 5 * 60_000;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 5_000;
    this.maxJwksBytes = options.maxJwksBytes ?? MAX_JWKS_BYTES;
  }

  /** True once verification can work: the JWKS was loaded at least once (or is not needed). */
  get ready(): boolean {
    return this.options.jwksUrl === undefined || this.loaded;
  }

  get keyCount(): number {
    return this.keys.size;
  }

  /** Bumped each time a key that was served is retired or replaced. */
  get generation(): number {
    return this.keyGeneration;
  }

  /** When the JWKS was last fetched successfully (ms), if ever. */
  get lastSuccessfulFetchAt(): number | undefined {
    return this.lastSuccessAt;
  }

  /** Loads the JWKS once and starts the background refresh; resolves even if the first fetch fails. */
  async start(): Promise<void> {
    if (this.options.jwksUrl === undefined) return;
    await this.refresh();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.refreshTimer);
  }

  /**
   * Every key that may verify a token with this protected header: usually one; several when a
   * JWKS publishes one kid twice for the same algorithm (each is tried, as jose's key sets do),
   * with the generation of the key set they were taken from. Throws a typed refusal when there
   * is none.
   */
  async candidates(header: Readonly<Record<string, unknown>>): Promise<KeyCandidates> {
    const alg = typeof header.alg === "string" ? header.alg : "";
    // RFC 7515 §4.1.4: kid is a string. Anything else is not "no kid".
    if (header.kid !== undefined && typeof header.kid !== "string") throw new InvalidTokenError("kid is not a string");
    if (isHmacAlgorithm(alg)) {
      if (this.hmacKeys.length === 0) throw new InvalidTokenError("algorithm not allowed");
      return { keys: this.hmacKeys, generation: this.keyGeneration };
    }
    const kid = header.kid as string | undefined;
    const found = this.lookup(alg, kid);
    if (found) return { keys: found, generation: this.keyGeneration };
    // Wait on at most one fetch: the one already under way, or a new one if the cooldown allows.
    if (this.inflight) {
      await this.inflight;
    } else if (this.now() - this.lastMissFetchAt >= this.cooldownMs) {
      this.lastMissFetchAt = this.now();
      await this.refresh();
    }
    const refetched = this.lookup(alg, kid);
    if (refetched) return { keys: refetched, generation: this.keyGeneration };
    if (!this.loaded) throw new KeysUnavailableError("the signing keys could not be loaded");
    throw new InvalidTokenError("no key matches the token");
  }

  private lookup(alg: string, kid: string | undefined): readonly CryptoKey[] | undefined {
    if (typeof kid === "string") return this.keys.get(kid)?.byAlg.get(alg);
    // No kid: usable only when exactly one published key fits the algorithm.
    let only: readonly CryptoKey[] | undefined;
    for (const key of this.keys.values()) {
      const candidates = key.byAlg.get(alg);
      if (!candidates) continue;
      if (only || candidates.length > 1) return undefined;
      only = candidates;
    }
    return only;
  }

  /** One fetch at a time: concurrent callers share it. */
  private refresh(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    let nextInMs: number;
    try {
      const { document, cacheControl } = await this.download(this.options.jwksUrl!);
      const next = await this.importKeySet(document);
      this.replaceKeys(next);
      this.loaded = true;
      this.failures = 0;
      this.lastSuccessAt = this.now();
      nextInMs = this.refreshPeriod(cacheControl);
      this.options.events?.onFetch?.("success", { keys: next.size });
    } catch (error) {
      this.failures += 1;
      // Retry with a backoff from 1 s, doubling to 32 s (30 s while nothing is loaded yet and
      // readiness waits on it); the keys already loaded keep verifying meanwhile.
      nextInMs = Math.min(1_000 * 2 ** Math.min(this.failures - 1, 5), this.loaded ? this.defaultRefreshMs : 30_000);
      this.options.events?.onFetch?.("failure", { error });
    }
    this.schedule(nextInMs);
  }

  /**
   * Reads the JWKS as plain bytes (`accept-encoding: identity`; any other encoding is refused,
   * never inflated) and stops reading at the size cap, so a hostile or broken JWKS costs at
   * most that much memory. No redirects: keys come from `JWKS_URL` only.
   */
  private async download(url: string): Promise<{ document: unknown; cacheControl: string | undefined }> {
    const signal = AbortSignal.timeout(this.fetchTimeoutMs);
    const response = await request(url, {
      method: "GET",
      headers: { accept: "application/json", "accept-encoding": "identity" },
      signal,
      headersTimeout: this.fetchTimeoutMs,
      bodyTimeout: this.fetchTimeoutMs,
    });
    const { body } = response;
    // Destroying a body early makes it emit an error: heard here, so it can never be uncaught.
    body.on("error", () => undefined);
    try {
      if (response.statusCode !== 200) throw new Error(`JWKS answered ${response.statusCode}`);
      const encoding = header(response.headers["content-encoding"]);
      if (encoding !== undefined && encoding.toLowerCase() !== "identity") throw new Error(`JWKS sent content-encoding ${JSON.stringify(encoding.slice(0, 20))}; only identity is read`);
      const declared = Number(header(response.headers["content-length"]));
      if (declared > this.maxJwksBytes) throw new Error(`JWKS document of ${declared} bytes is over the ${this.maxJwksBytes}-byte cap`);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of body) {
        size += (chunk as Buffer).length;
        if (size > this.maxJwksBytes) throw new Error(`JWKS document is over the ${this.maxJwksBytes}-byte cap`);
        chunks.push(chunk as Buffer);
      }
      return { document: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown, cacheControl: header(response.headers["cache-control"]) };
    } finally {
      // Stop reading whatever is left (a bomb, an endless stream) and free the connection.
      if (!body.destroyed) body.destroy();
    }
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refresh(), delayMs);
    this.refreshTimer.unref();
  }

  private refreshPeriod(cacheControl: string | undefined): number {
    const maxAge = cacheControl ? /(?:^|,)\s*max-age\s*=\s*"?(\d+)/i.exec(cacheControl) : null;
    const periodMs = maxAge ? Number(maxAge[1]) * 1000 : this.defaultRefreshMs;
    return Math.min(Math.max(periodMs, this.minRefreshMs), this.maxRefreshMs);
  }

  private replaceKeys(next: Map<string, PublishedKey>): void {
    let retired = false;
    for (const [kid, key] of this.keys) {
      if (next.get(kid)?.fingerprint !== key.fingerprint) retired = true;
    }
    // The generation moves before the new set is visible: a verification that started with a
    // retired key and ends after this point sees a newer generation and is not cached.
    if (retired) this.keyGeneration += 1;
    this.keys = next;
  }

  /**
   * The usable keys of a JWKS document. A key imported before (same public members, same
   * algorithm) is reused rather than imported again, so a refresh of an unchanged JWKS is a
   * parse. A document with more than {@link MAX_JWKS_KEYS} keys, or more than
   * {@link MAX_KEYS_PER_KID} under one kid, is refused whole (the keys in use stay): no real
   * issuer publishes that many, and each costs an import and a signature try.
   */
  private async importKeySet(document: unknown): Promise<Map<string, PublishedKey>> {
    const list = (document as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(list)) throw new Error("JWKS document has no keys array");
    if (list.length > MAX_JWKS_KEYS) throw new Error(`JWKS document has ${list.length} keys (at most ${MAX_JWKS_KEYS} are read)`);
    const fingerprints = new Map<string, string[]>();
    const result = new Map<string, Map<string, CryptoKey[]>>();
    const imports = new Map<string, CryptoKey>();
    for (const entry of list as JWK[]) {
      if (!entry || typeof entry !== "object" || typeof entry.kid !== "string") continue;
      if (entry.use !== undefined && entry.use !== "sig") continue;
      if (entry.key_ops !== undefined && !(Array.isArray(entry.key_ops) && entry.key_ops.includes("verify"))) continue;
      const print = JSON.stringify(publicPart(entry));
      const imported: [string, CryptoKey][] = [];
      for (const alg of this.asymmetric) {
        if (entry.alg !== undefined && entry.alg !== alg) continue;
        if (!fitsAlgorithm(entry, alg)) continue;
        const cacheKey = `${alg} ${print}`;
        let key = this.imported.get(cacheKey);
        try {
          key ??= (await importJWK(publicPart(entry), alg)) as CryptoKey;
        } catch {
          // A key this runtime cannot import for this algorithm is simply not offered for it.
          continue;
        }
        imports.set(cacheKey, key);
        imported.push([alg, key]);
      }
      if (imported.length === 0) continue;
      // One kid may name several keys (RFC 7517 §4.5 allows it across key types; a broken JWKS
      // repeats it within one): every key is kept and tried, none silently dropped.
      let byAlg = result.get(entry.kid);
      if (!byAlg) result.set(entry.kid, (byAlg = new Map()));
      for (const [alg, key] of imported) {
        const keysForAlg = byAlg.get(alg);
        if (keysForAlg === undefined) byAlg.set(alg, [key]);
        else if (keysForAlg.length >= MAX_KEYS_PER_KID) throw new Error(`JWKS document repeats kid ${JSON.stringify(entry.kid.slice(0, 40))} more than ${MAX_KEYS_PER_KID} times`);
        else keysForAlg.push(key);
      }
      const prints = fingerprints.get(entry.kid) ?? [];
      prints.push(print);
      fingerprints.set(entry.kid, prints);
    }
    // Emptying a key set that was in use is not a rotation: it would refuse every token at once.
    if (result.size === 0 && this.keys.size > 0) throw new Error("JWKS document has no usable key; keeping the keys loaded");
    this.imported = imports;
    const keys = new Map<string, PublishedKey>();
    for (const [kid, byAlg] of result) keys.set(kid, { fingerprint: fingerprints.get(kid)!.sort().join("|"), byAlg });
    return keys;
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}

/** Ties an algorithm to the key type it may use (no HS* from a JWKS, no RSA key for EdDSA). */
function fitsAlgorithm(jwk: JWK, alg: string): boolean {
  switch (alg) {
    case "EdDSA":
      return jwk.kty === "OKP" && (jwk.crv === "Ed25519" || jwk.crv === "Ed448");
    case "ES256":
      return jwk.kty === "EC" && jwk.crv === "P-256";
    case "ES384":
      return jwk.kty === "EC" && jwk.crv === "P-384";
    case "ES512":
      return jwk.kty === "EC" && jwk.crv === "P-521";
    default:
      return jwk.kty === "RSA" && /^(RS|PS)(256|384|512)$/.test(alg);
  }
}

/** Only public members are ever imported, even if a JWKS wrongly publishes private ones. */
function publicPart(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined)) as JWK;
}
