import { SignJWT } from "jose";
import type { ResolvedSigningKey } from "better-auth/plugins/jwt";
import { REVOCATION_EVENT_TYP, type RevocationClaims, type RevocationEnvelope } from "@todo-gateway/config";

/**
 * Signs one event as a compact JWS with the service's current token-signing key, exactly as
 * Better Auth signs a token (the same key, decrypted and imported by its `resolveSigningKey`),
 * but typed `revocation+jwt` and without `sub` (docs/revocation.md §1).
 */
export async function signRevocationEvent(claims: RevocationClaims, envelope: RevocationEnvelope, key: ResolvedSigningKey): Promise<string> {
  // Only the protocol's claims, whatever else the caller's object may carry.
  const payload = claims.kind === "session"
    ? { kind: claims.kind, uid: claims.uid, sid: claims.sid, reason: claims.reason }
    : { kind: claims.kind, uid: claims.uid, before: claims.before, reason: claims.reason };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: REVOCATION_EVENT_TYP })
    .setIssuer(envelope.iss)
    .setAudience(envelope.aud)
    .setJti(envelope.jti)
    .setIssuedAt(envelope.iat)
    .setExpirationTime(envelope.exp)
    .sign(key.privateKey);
}
