import { importJWK, type CryptoKey, type JWK } from "jose";
import { isHmacAlgorithm, type JwtAlgorithm } from "@todo-gateway/config";
import { InvalidTokenError, KeysUnavailableError } from "../errors.ts";

/** What the resolver reports to metrics and logs; names fixed in ops/metrics.ts. */
export interface KeyResolverEvents {
  onFetch?(result: "success" | "failure", detail: { keys?: number; error?: unknown }): void;
  /** A key that was served before is gone or changed: cached verifications must be dropped. */
  onKeysRetired?(): void;
}

export interface KeyResolverOptions {
  readonly jwksUrl: string | undefined;
  readonly hmacSecret: string | undefined;
  readonly algorithms: readonly JwtAlgorithm[];
  /** Minimum time between fetches caused by an unknown `kid` (CONTRACT §4: 30 s). */
  readonly unknownKidCooldownMs?: number;
  /** Bounds on the background refresh period taken from the JWKS's Cache-Control. */
  readonly minRefreshMs?: number;
  readonly maxRefreshMs?: number;
  /** Refresh period when the JWKS sends no max-age. */
  readonly defaultRefreshMs?: number;
  readonly fetchTimeoutMs?: number;
  readonly events?: KeyResolverEvents;
  readonly now?: () => number;
}

type VerifyKey = CryptoKey | Uint8Array;

interface PublishedKey {
  readonly fingerprint: string;
  /** One imported key per algorithm this key may verify, among those accepted. */
  readonly byAlg: ReadonlyMap<string, CryptoKey>;
}

const MAX_JWKS_BYTES = 512 * 1024;

/**
 * The one long-lived key source, created at boot: HS* tokens use the shared secret; every other
 * algorithm uses keys fetched from `JWKS_URL` only (never from a token's `jku`, `x5u`, `jwk` or
 * `x5c`). Keys are refreshed in the background as the JWKS's Cache-Control says, an unknown
 * `kid` triggers at most one fetch per cooldown shared by all waiting requests, and cached
 * keys survive a JWKS outage.
 */
export class KeyResolver {
  private keys = new Map<string, PublishedKey>();
  private loaded = false;
  private inflight: Promise<void> | undefined;
  private lastMissFetchAt = Number.NEGATIVE_INFINITY;
  private refreshTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private readonly hmacKey: Uint8Array | undefined;
  private readonly asymmetric: readonly JwtAlgorithm[];
  private readonly now: () => number;
  private readonly cooldownMs: number;
  private readonly minRefreshMs: number;
  private readonly maxRefreshMs: number;
  private readonly defaultRefreshMs: number;
  private readonly fetchTimeoutMs: number;

  constructor(private readonly options: KeyResolverOptions) {
    this.hmacKey = options.hmacSecret === undefined ? undefined : new TextEncoder().encode(options.hmacSecret);
    this.asymmetric = options.algorithms.filter((alg) => !isHmacAlgorithm(alg));
    this.now = options.now ?? Date.now;
    this.cooldownMs = options.unknownKidCooldownMs ?? 30_000;
    // Never more often than the unknown-kid cadence, whatever max-age the JWKS sends.
    this.minRefreshMs = options.minRefreshMs ?? 30_000;
    this.maxRefreshMs = options.maxRefreshMs ?? 15 * 60_000;
    this.defaultRefreshMs = options.defaultRefreshMs ?? 5 * 60_000;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 5_000;
  }

  /** True once verification can work: the JWKS was loaded at least once (or is not needed). */
  get ready(): boolean {
    return this.options.jwksUrl === undefined || this.loaded;
  }

  get keyCount(): number {
    return this.keys.size;
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

  /** jose's key callback: the key for this protected header, or a typed refusal. */
  readonly getKey = async (header: { alg?: string; kid?: unknown }): Promise<VerifyKey> => {
    const alg = header.alg ?? "";
    // RFC 7515 §4.1.4: kid is a string. Anything else is not "no kid".
    if (header.kid !== undefined && typeof header.kid !== "string") throw new InvalidTokenError("kid is not a string");
    if (isHmacAlgorithm(alg)) {
      if (this.hmacKey === undefined) throw new InvalidTokenError("algorithm not allowed");
      return this.hmacKey;
    }
    const kid = header.kid as string | undefined;
    const found = this.lookup(alg, kid);
    if (found) return found;
    // Wait on at most one fetch: the one already under way, or a new one if the cooldown allows.
    if (this.inflight) {
      await this.inflight;
    } else if (this.now() - this.lastMissFetchAt >= this.cooldownMs) {
      this.lastMissFetchAt = this.now();
      await this.refresh();
    }
    const refetched = this.lookup(alg, kid);
    if (refetched) return refetched;
    if (!this.loaded) throw new KeysUnavailableError("the signing keys could not be loaded");
    throw new InvalidTokenError("no key matches the token");
  };

  private lookup(alg: string, kid: string | undefined): CryptoKey | undefined {
    if (typeof kid === "string") return this.keys.get(kid)?.byAlg.get(alg);
    // No kid: usable only when exactly one published key fits the algorithm.
    let only: CryptoKey | undefined;
    for (const key of this.keys.values()) {
      const candidate = key.byAlg.get(alg);
      if (!candidate) continue;
      if (only) return undefined;
      only = candidate;
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
    const url = this.options.jwksUrl!;
    let nextInMs: number;
    try {
      const response = await fetch(url, {
        signal: AbortSignal.timeout(this.fetchTimeoutMs),
        headers: { accept: "application/json" },
        redirect: "error",
      });
      if (response.status !== 200) throw new Error(`JWKS answered ${response.status}`);
      const text = await response.text();
      if (text.length > MAX_JWKS_BYTES) throw new Error("JWKS document too large");
      const next = await this.importKeySet(JSON.parse(text) as unknown);
      this.replaceKeys(next);
      this.loaded = true;
      this.failures = 0;
      nextInMs = this.refreshPeriod(response.headers.get("cache-control"));
      this.options.events?.onFetch?.("success", { keys: next.size });
    } catch (error) {
      this.failures += 1;
      // Retry quickly while nothing is loaded (readiness waits on it); once keys are cached,
      // keep serving them and retry at the normal floor.
      nextInMs = this.loaded ? this.minRefreshMs : Math.min(1_000 * 2 ** Math.min(this.failures - 1, 5), 30_000);
      this.options.events?.onFetch?.("failure", { error });
    }
    this.schedule(nextInMs);
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refresh(), delayMs);
    this.refreshTimer.unref();
  }

  private refreshPeriod(cacheControl: string | null): number {
    const maxAge = cacheControl ? /(?:^|,)\s*(?:s-)?max-age\s*=\s*"?(\d+)/i.exec(cacheControl) : null;
    const periodMs = maxAge ? Number(maxAge[1]) * 1000 : this.defaultRefreshMs;
    return Math.min(Math.max(periodMs, this.minRefreshMs), this.maxRefreshMs);
  }

  private replaceKeys(next: Map<string, PublishedKey>): void {
    let retired = false;
    for (const [kid, key] of this.keys) {
      if (next.get(kid)?.fingerprint !== key.fingerprint) retired = true;
    }
    this.keys = next;
    if (retired) this.options.events?.onKeysRetired?.();
  }

  private async importKeySet(document: unknown): Promise<Map<string, PublishedKey>> {
    const list = (document as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(list)) throw new Error("JWKS document has no keys array");
    const result = new Map<string, PublishedKey>();
    for (const entry of list as JWK[]) {
      if (!entry || typeof entry !== "object" || typeof entry.kid !== "string") continue;
      if (entry.use !== undefined && entry.use !== "sig") continue;
      if (entry.key_ops !== undefined && !(Array.isArray(entry.key_ops) && entry.key_ops.includes("verify"))) continue;
      const byAlg = new Map<string, CryptoKey>();
      for (const alg of this.asymmetric) {
        if (entry.alg !== undefined && entry.alg !== alg) continue;
        if (!fitsAlgorithm(entry, alg)) continue;
        try {
          byAlg.set(alg, (await importJWK(publicPart(entry), alg)) as CryptoKey);
        } catch {
          // A key this runtime cannot import for this algorithm is simply not offered for it.
        }
      }
      if (byAlg.size === 0) continue;
      // One kid may name keys of different types (RFC 7517 §4.5): keep the first key per algorithm.
      const existing = result.get(entry.kid);
      if (existing) {
        for (const [alg, key] of byAlg) if (!existing.byAlg.has(alg)) (existing.byAlg as Map<string, CryptoKey>).set(alg, key);
        result.set(entry.kid, { fingerprint: existing.fingerprint + JSON.stringify(publicPart(entry)), byAlg: existing.byAlg });
      } else {
        result.set(entry.kid, { fingerprint: JSON.stringify(publicPart(entry)), byAlg });
      }
    }
    return result;
  }
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
