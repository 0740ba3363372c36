import { jwtVerify, errors as jose } from "jose";
import { LRUCache } from "lru-cache";
import type { GatewayConfig } from "@todo-gateway/config";
import { GatewayError, InvalidTokenError } from "../errors.ts";
import { checkNumericDates, isHeaderSafeClaim } from "./claims.ts";
import { parseCompactJws } from "./compact-jws.ts";
import type { KeyResolver, VerifyKey } from "./keys.ts";

/** What the rest of the pipeline knows about a caller once its token is accepted. */
export interface VerifiedToken {
  readonly sub: string;
  readonly claims: Readonly<Record<string, unknown>>;
  /** The token's `exp`, in ms: the cache entry is dropped from then on. */
  readonly expiresAtMs: number;
  /** The key generation the verdict was reached under; a cached verdict of an older one is not used. */
  readonly keyGeneration: number;
}

export interface VerifierOptions {
  readonly jwt: GatewayConfig["jwt"];
  readonly keys: KeyResolver;
  readonly now?: () => number;
  /** Upper bound on the memory the verified-token cache may hold, in estimated bytes. */
  readonly cacheMaxBytes?: number;
}

/**
 * Verifies bearer tokens (docs/behaviour.md §4.2–§4.5) and remembers the good ones until their `exp`, so a
 * repeated token costs one map lookup. Tokens whose signature failed are remembered too (in a
 * separate bounded cache), so replaying one forged token costs nothing either; both caches are
 * bounded by bytes. Every verdict carries the key generation it was reached under, and one from
 * before a key was retired is never served again (not even by a verification that was under
 * way when the key left).
 */
export class TokenVerifier {
  private readonly accepted: LRUCache<string, VerifiedToken>;
  /** Tokens whose signature fitted no key, with the key generation that was checked. */
  private readonly forged: LRUCache<string, number>;
  private readonly algorithms: ReadonlySet<string>;
  private readonly now: () => number;

  constructor(private readonly options: VerifierOptions) {
    const maxBytes = options.cacheMaxBytes ?? 32 * 1024 * 1024;
    // An entry holds the token text (the key) and its decoded claims: count roughly both.
    this.accepted = new LRUCache({ maxSize: maxBytes, sizeCalculation: (_v, key) => key.length * 3 + 200 });
    this.forged = new LRUCache({ maxSize: maxBytes / 4, sizeCalculation: (_v, key) => key.length + 50 });
    this.algorithms = new Set(options.jwt.algorithms);
    this.now = options.now ?? Date.now;
  }

  get cachedTokens(): number {
    return this.accepted.size;
  }

  /** The cached verdict for a token, if it is still within its lifetime and its keys; no signature work. */
  cached(token: string): VerifiedToken | undefined {
    const hit = this.accepted.get(token);
    if (hit !== undefined && hit.expiresAtMs > this.now() && hit.keyGeneration === this.options.keys.generation) return hit;
    return undefined;
  }

  /** Full verification; throws {@link InvalidTokenError} (or KeysUnavailableError). */
  async verify(token: string): Promise<VerifiedToken> {
    if (this.forged.get(token) === this.options.keys.generation) throw new InvalidTokenError("signature verification failed");
    const { header, payload: claimed } = parseCompactJws(token);
    if (typeof header.alg !== "string" || !this.algorithms.has(header.alg)) {
      throw new InvalidTokenError("algorithm not allowed");
    }
    checkNumericDates(claimed);
    // The keys come with the generation they were current in: if one is retired while the
    // signature is checked, the generation moves on and this verdict is never served from cache.
    const { keys, generation } = await this.options.keys.candidates(header);
    const nowMs = this.now();
    const payload = await this.verifyWithAny(token, keys, nowMs, generation);
    if (typeof payload.sub !== "string" || payload.sub === "") throw new InvalidTokenError("missing sub claim");
    // The upstream learns the caller from X-User-Id: a sub no header can carry is refused here
    // rather than failing (or being mangled) on the way upstream.
    if (!isHeaderSafeClaim(payload.sub)) throw new InvalidTokenError("sub cannot be passed upstream");
    const { jwt } = this.options;
    // jose only checks a future iat when a max age is set; a future iat is refused always.
    if (typeof payload.iat === "number" && payload.iat > nowMs / 1000 + jwt.clockToleranceS) {
      throw new InvalidTokenError("token issued in the future");
    }
    const verified: VerifiedToken = { sub: payload.sub, claims: payload, expiresAtMs: (payload.exp as number) * 1000, keyGeneration: generation };
    if (verified.expiresAtMs > nowMs) this.accepted.set(token, verified);
    return verified;
  }

  /** Tries each candidate key; a signature that fits none marks the token as forged. */
  private async verifyWithAny(token: string, keys: readonly VerifyKey[], nowMs: number, generation: number): Promise<Record<string, unknown>> {
    const { jwt } = this.options;
    const options = {
      algorithms: jwt.algorithms as string[],
      issuer: jwt.issuer,
      audience: jwt.audience,
      clockTolerance: jwt.clockToleranceS,
      requiredClaims: ["exp"],
      currentDate: new Date(nowMs),
    };
    let lastError: unknown;
    for (const key of keys) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (error) {
        if (!(error instanceof jose.JWSSignatureVerificationFailed)) throw toTokenError(error);
        lastError = error;
      }
    }
    this.forged.set(token, generation);
    throw toTokenError(lastError);
  }
}

/** Wraps jose's failures into our short, fixed descriptions; the original stays as `cause`. */
function toTokenError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const cause = { cause: error };
  if (error instanceof jose.JWTExpired) return new InvalidTokenError("token expired", cause);
  if (error instanceof jose.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "nbf":
        return new InvalidTokenError("token not yet valid", cause);
      case "iss":
        return new InvalidTokenError("unexpected issuer", cause);
      case "aud":
        return new InvalidTokenError("unexpected audience", cause);
      case "exp":
        return new InvalidTokenError(error.reason === "missing" ? "missing exp claim" : "invalid exp claim", cause);
      default:
        return new InvalidTokenError(`invalid ${/^[a-z]{1,8}$/.test(error.claim) ? error.claim : "registered"} claim`, cause);
    }
  }
  if (error instanceof jose.JWSSignatureVerificationFailed) return new InvalidTokenError("signature verification failed", cause);
  if (error instanceof jose.JOSEAlgNotAllowed) return new InvalidTokenError("algorithm not allowed", cause);
  if (error instanceof jose.JOSENotSupported) return new InvalidTokenError("unsupported token header", cause);
  return new InvalidTokenError("malformed token", cause);
}
