/**
 * The revocation event, defined once for the auth-service (which writes, signs and relays
 * them) and the gateways (which verify and apply them). docs/revocation.md describes the whole
 * protocol. An event is a compact JWS signed with the auth-service's current token-signing key,
 * so gateways verify it with the JWKS they already trust and nothing else needs sharing; its
 * `typ`, its audience and the absence of `sub` make sure it can never pass as an access token.
 */

/** The JWS `typ` of an event (RFC 8725 §3.11: explicit typing). */
export const REVOCATION_EVENT_TYP = "revocation+jwt";

/** The `aud` of every event: never an access token's audience. */
export const REVOCATION_EVENT_AUDIENCE = "urn:todo-gateway:revocations";

/**
 * Seconds an event is kept past the longest life of a token it can affect (`JWT_LIFETIME_S`):
 * room for any gateway's clock tolerance and for clocks that disagree.
 */
export const REVOCATION_RETENTION_MARGIN_S = 60;

/** The Redis stream events are relayed to when `REDIS_URL` is set. */
export const REVOCATION_STREAM_KEY = "todo-gateway:revocations";

/** The auth-service path of the HTTP feed (no Redis); never under /api/auth, so no client route reaches it. */
export const REVOCATION_FEED_PATH = "/internal/revocations";

/** What ended, in words, for logs and metrics. */
export const REVOCATION_REASONS = [
  "sign-out", "revoke-session", "revoke-sessions", "revoke-other-sessions", "delete-user", "password-change", "session-ended",
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/** The claims of an event, as signed. */
export type RevocationClaims =
  | {
      /** One session ended: every token with this `sid` is revoked. */
      readonly kind: "session";
      readonly uid: string;
      readonly sid: string;
      readonly reason: RevocationReason;
    }
  | {
      /** Everything the user held before `before` ended: tokens with `sub` = uid and `iat` < before are revoked. */
      readonly kind: "user";
      readonly uid: string;
      /** A NumericDate (seconds). */
      readonly before: number;
      readonly reason: RevocationReason;
    };

/** The JWT claims around them: `iss` (the auth-service's issuer), `aud`, `jti`, `iat`, `exp`. */
export interface RevocationEnvelope {
  readonly iss: string;
  readonly aud: typeof REVOCATION_EVENT_AUDIENCE;
  /** The event's id (unique). */
  readonly jti: string;
  /** When the revocation happened. */
  readonly iat: number;
  /** When it may be forgotten: `iat + JWT_LIFETIME_S + REVOCATION_RETENTION_MARGIN_S`. */
  readonly exp: number;
}

/** Reads the event-specific claims of a verified payload; `undefined` when they are not a valid event. */
export function readRevocationClaims(payload: Readonly<Record<string, unknown>>): RevocationClaims | undefined {
  const { kind, uid, sid, before, reason } = payload;
  if (typeof uid !== "string" || uid === "" || payload.sub !== undefined) return undefined;
  if (!(REVOCATION_REASONS as readonly unknown[]).includes(reason)) return undefined;
  if (kind === "session" && typeof sid === "string" && sid !== "") return { kind, uid, sid, reason: reason as RevocationReason };
  if (kind === "user" && typeof before === "number" && Number.isFinite(before)) return { kind, uid, before, reason: reason as RevocationReason };
  return undefined;
}

/** The HTTP feed's answer: every event not yet expired, and a version that changes whenever that set does. */
export interface RevocationFeed {
  readonly events: readonly string[];
  readonly version: string;
}
