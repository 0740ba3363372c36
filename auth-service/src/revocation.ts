import type { Logger } from "./log.ts";

/** A session ended: sign-out, revoke-session(s), or the user was deleted. */
export interface SessionRevokedEvent {
  readonly type: "session.revoked";
  readonly userId: string;
  readonly sessionId: string;
  readonly at: Date;
}

/** A user was deleted (their sessions were reported one by one before this). */
export interface UserDeletedEvent {
  readonly type: "user.deleted";
  readonly userId: string;
  readonly at: Date;
}

export type RevocationEvent = SessionRevokedEvent | UserDeletedEvent;

/**
 * The one hook point for revocation. Called after the database change; its failure is logged
 * and never fails the user's request. Today it only logs; a later issue publishes the events
 * so the gateway can refuse still-valid JWTs of a revoked session (`sid`) or user (`sub`).
 */
export type RevocationHook = (event: RevocationEvent) => void | Promise<void>;

export function loggingRevocationHook(log: Logger): RevocationHook {
  return (event) => {
    log.info({ event: event.type, userId: event.userId, ...("sessionId" in event ? { sessionId: event.sessionId } : {}), at: event.at.toISOString() }, "revocation");
  };
}
