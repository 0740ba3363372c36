import { jwtVerify, errors as jose } from "jose";
import { LRUCache } from "lru-cache";
import type { GatewayConfig } from "@todo-gateway/config";
import { GatewayError, InvalidTokenError } from "../errors.ts";
import type { Metrics } from "../ops/metrics.ts";
import { parseCompactJws } from "./compact-jws.ts";
import type { KeyResolver } from "./keys.ts";

/** An RFC 9110 field value: visible ASCII, obs-text (Latin-1), and inner spaces or tabs. */
const HEADER_VALUE = /^[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?$/;

/** What the rest of the pipeline knows about a caller once its token is accepted. */
export interface VerifiedToken {
  readonly sub: string;
  readonly claims: Readonly<Record<string, unknown>>;
  /** The token's `exp`, in ms: the cache entry is dropped from then on. */
  readonly expiresAtMs: number;
}

export interface VerifierOptions {
  readonly jwt: GatewayConfig["jwt"];
  readonly keys: KeyResolver;
  readonly metrics: Metrics;
  readonly now?: () => number;
  /** Upper bound on the memory the verified-token cache may hold, in estimated bytes. */
  readonly cacheMaxBytes?: number;
}

/**
 * Verifies bearer tokens (CONTRACT §4) and remembers the good ones until their `exp`, so a
 * repeated token costs one map lookup. Tokens whose signature failed are remembered too (in a
 * separate bounded cache), so replaying one forged token costs nothing either; both caches are
 * bounded by bytes and dropped whenever a signing key is retired.
 */
export class TokenVerifier {
  private readonly accepted: LRUCache<string, VerifiedToken>;
  private readonly forged: LRUCache<string, true>;
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

  /** Drops every remembered verdict (a key was retired, so its tokens must be checked again). */
  forget(): void {
    this.accepted.clear();
    this.forged.clear();
  }

  /** The cached verdict for a token, if it is still within its lifetime; no signature work. */
  cached(token: string): VerifiedToken | undefined {
    const hit = this.accepted.get(token);
    if (hit !== undefined && hit.expiresAtMs > this.now()) {
      this.options.metrics.tokenCacheHits += 1;
      return hit;
    }
    return undefined;
  }

  /** Full verification; throws {@link InvalidTokenError} (or KeysUnavailableError). */
  async verify(token: string): Promise<VerifiedToken> {
    this.options.metrics.tokenCacheMisses += 1;
    if (this.forged.has(token)) throw new InvalidTokenError("signature verification failed");
    const { header } = parseCompactJws(token);
    if (typeof header.alg !== "string" || !this.algorithms.has(header.alg)) {
      throw new InvalidTokenError("algorithm not allowed");
    }
    const { jwt } = this.options;
    const nowMs = this.now();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.options.keys.getKey, {
        algorithms: jwt.algorithms as string[],
        issuer: jwt.issuer,
        audience: jwt.audience,
        clockTolerance: jwt.clockToleranceS,
        requiredClaims: ["exp"],
        currentDate: new Date(nowMs),
      }));
    } catch (error) {
      if (error instanceof jose.JWSSignatureVerificationFailed) this.forged.set(token, true);
      throw toTokenError(error);
    }
    if (typeof payload.sub !== "string" || payload.sub === "") throw new InvalidTokenError("missing sub claim");
    // The upstream learns the caller from X-User-Id: a sub no header can carry is refused here
    // rather than failing (or being mangled) on the way upstream.
    if (!HEADER_VALUE.test(payload.sub)) throw new InvalidTokenError("sub cannot be passed upstream");
    // jose only checks a future iat when a max age is set; CONTRACT §4 refuses it always.
    if (typeof payload.iat === "number" && payload.iat > nowMs / 1000 + jwt.clockToleranceS) {
      throw new InvalidTokenError("token issued in the future");
    }
    const verified: VerifiedToken = { sub: payload.sub, claims: payload, expiresAtMs: (payload.exp as number) * 1000 };
    if (verified.expiresAtMs > nowMs) this.accepted.set(token, verified);
    return verified;
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
