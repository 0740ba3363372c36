export { buildApp, jwksMaxAge, realClientIp, BODY_LIMIT_BYTES, type AuthServiceApp, type BuildAppOptions } from "./app.ts";
export { createAuth, CLIENT_IP_HEADER, type Auth, type CreateAuthOptions } from "./auth.ts";
export { planKeys, KeyRing, type KeyPlan, type KeyRow, type RotationPolicy } from "./keyring.ts";
export {
  loggingRevocationHook, Outbox, RedisRelay, RevocationFeed, RevocationRecorder, Revocations,
  FEED_MAX_WAIT_S, FEED_MAX_WAITERS, MAX_OUTBOX_READ, REVOCATION_EVENT_MODEL,
  type OutboxRow, type RecordedRevocation, type RevocationHook,
} from "./revocation/index.ts";
export { describeStartupError } from "./startup-errors.ts";
