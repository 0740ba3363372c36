import type { RevocationClaims } from "@todo-gateway/config";
import type { VerifiedToken } from "../auth/verifier.ts";

/**
 * What the gateway knows has ended: revoked session ids, and per user a time before which
 * every token is revoked. Each entry is kept until no token it covers can still be valid (its
 * event's `exp`, plus the clock tolerance), then pruned: memory follows the revocation rate, not
 * the number of users. A check is two map lookups.
 */
export class RevocationView {
  private readonly sessions = new Map<string, number>();
  private readonly users = new Map<string, { before: number; untilMs: number }>();
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(private readonly toleranceMs: number, private readonly now: () => number = Date.now) {}

  /** Applies a verified event; returns false when it changed nothing (already known, or expired). */
  apply(claims: RevocationClaims, expiresAtS: number): boolean {
    const untilMs = expiresAtS * 1000 + this.toleranceMs;
    if (untilMs <= this.now()) return false;
    if (claims.kind === "session") {
      const known = this.sessions.get(claims.sid);
      if (known !== undefined && known >= untilMs) return false;
      this.sessions.set(claims.sid, untilMs);
      return true;
    }
    const known = this.users.get(claims.uid);
    if (known !== undefined && known.before >= claims.before && known.untilMs >= untilMs) return false;
    this.users.set(claims.uid, {
      before: Math.max(claims.before, known?.before ?? Number.NEGATIVE_INFINITY),
      untilMs: Math.max(untilMs, known?.untilMs ?? 0),
    });
    return true;
  }

  /** True when this token's session, or everything its user held when it was issued, has ended. */
  revokes(identity: VerifiedToken): boolean {
    if (this.sessions.size > 0) {
      const sid = identity.claims.sid;
      if (typeof sid === "string" && this.sessions.has(sid)) return true;
    }
    if (this.users.size > 0) {
      const user = this.users.get(identity.sub);
      // A token without iat cannot show it was issued after the cut: it is revoked.
      if (user !== undefined) {
        const iat = identity.claims.iat;
        if (typeof iat !== "number" || iat < user.before) return true;
      }
    }
    return false;
  }

  get size(): number {
    return this.sessions.size + this.users.size;
  }

  /** Forgets entries no token can need any more. */
  prune(): void {
    const now = this.now();
    for (const [sid, untilMs] of this.sessions) if (untilMs <= now) this.sessions.delete(sid);
    for (const [uid, entry] of this.users) if (entry.untilMs <= now) this.users.delete(uid);
  }

  startPruning(everyMs = 10_000): void {
    this.pruneTimer = setInterval(() => this.prune(), everyMs);
    this.pruneTimer.unref();
  }

  stop(): void {
    clearInterval(this.pruneTimer);
  }
}
