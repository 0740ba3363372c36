export { buildApp, jwksMaxAge, realClientIp, BODY_LIMIT_BYTES, type AuthServiceApp, type BuildAppOptions } from "./app.ts";
export { createAuth, CLIENT_IP_HEADER, type Auth, type CreateAuthOptions } from "./auth.ts";
export { planKeys, KeyRing, type KeyPlan, type KeyRow, type RotationPolicy } from "./keyring.ts";
export type { RevocationEvent, RevocationHook, SessionRevokedEvent, UserDeletedEvent } from "./revocation.ts";
export { describeStartupError } from "./startup-errors.ts";
