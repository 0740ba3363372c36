import type { Logger } from "../log.ts";
import type { RecordedRevocation } from "./recorder.ts";

/**
 * Called once per revocation event, after its row is written to the outbox (so it is already
 * on its way to every gateway). Its failure is logged and never fails the user's request.
 */
export type RevocationHook = (event: RecordedRevocation) => void | Promise<void>;

/** The default hook: one info line per event (never the JWS). */
export function loggingRevocationHook(log: Logger): RevocationHook {
  return (event) => {
    const { claims } = event;
    log.info({ jti: event.jti, kind: claims.kind, reason: claims.reason, userId: claims.uid, ...(claims.kind === "session" ? { sessionId: claims.sid } : { before: claims.before }) }, "revocation");
  };
}
