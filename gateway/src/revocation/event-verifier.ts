import { jwtVerify } from "jose";
import { REVOCATION_EVENT_AUDIENCE, REVOCATION_EVENT_TYP, readRevocationClaims, type RevocationClaims } from "@todo-gateway/config";
import { parseCompactJws } from "../auth/compact-jws.ts";
import type { KeyResolver } from "../auth/keys.ts";

export interface VerifiedEvent {
  readonly claims: RevocationClaims;
  readonly id: string;
  /** When it happened and when it may be forgotten (seconds). */
  readonly iat: number;
  readonly exp: number;
}

/**
 * Checks a revocation event (docs/revocation.md §1) with the same keys access tokens are
 * checked with: signed by a key of the JWKS, `typ` revocation+jwt, the auth-service's issuer,
 * the events' own audience, not expired, and event claims of the right shape. Anything else is
 * refused with a reason for the log, never applied. Events already verified are remembered by
 * id (the feed sends every unexpired event on each poll), so each costs one signature check.
 */
export class EventVerifier {
  private readonly seen = new Map<string, number>();

  constructor(private readonly keys: KeyResolver, private readonly issuer: string | undefined, private readonly now: () => number = Date.now) {}

  /** The event, or the reason it is refused. */
  async verify(jws: string): Promise<VerifiedEvent | { refused: string }> {
    let header: Readonly<Record<string, unknown>>;
    try {
      ({ header } = parseCompactJws(jws));
    } catch {
      return { refused: "not a compact JWS" };
    }
    if (header.typ !== REVOCATION_EVENT_TYP) return { refused: "not a revocation event (typ)" };
    let candidates;
    try {
      candidates = await this.keys.candidates(header);
    } catch {
      return { refused: "signed by no key of the JWKS" };
    }
    for (const key of candidates.keys) {
      try {
        const { payload } = await jwtVerify(jws, key, {
          typ: REVOCATION_EVENT_TYP, audience: REVOCATION_EVENT_AUDIENCE, ...(this.issuer === undefined ? {} : { issuer: this.issuer }),
          requiredClaims: ["exp", "iat", "jti"], currentDate: new Date(this.now()),
        });
        const claims = readRevocationClaims(payload);
        if (claims === undefined) return { refused: "not a valid event (claims)" };
        return { claims, id: payload.jti!, iat: payload.iat!, exp: payload.exp! };
      } catch (error) {
        if ((error as { code?: string }).code !== "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") return { refused: `refused by its claims (${(error as { code?: string }).code ?? "invalid"})` };
      }
    }
    return { refused: "signature verification failed" };
  }

  /** Whether this exact event was applied already (and is still within its life). */
  known(jws: string): boolean {
    return this.seen.has(jws);
  }

  remember(jws: string, event: VerifiedEvent): void {
    this.seen.set(jws, event.exp * 1000);
  }

  prune(): void {
    const now = this.now();
    for (const [jws, untilMs] of this.seen) if (untilMs <= now) this.seen.delete(jws);
  }
}
