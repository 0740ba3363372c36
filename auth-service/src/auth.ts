import { betterAuth } from "better-auth";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { bearer, jwt } from "better-auth/plugins";
import type { JWKOptions, JwtOptions } from "better-auth/plugins/jwt";
import { withoutEmails, type AuthServiceConfig } from "@todo-gateway/config";
import type { AuthDatabase } from "./database.ts";
import { KeyRing } from "./keyring.ts";
import { betterAuthLogLevel, type Logger } from "./log.ts";
import { markInternalError } from "./request-context.ts";
import { Revocations, type RevocationHook } from "./revocation/index.ts";

/**
 * The header the HTTP layer sets to the real client address (the last `X-Forwarded-For`
 * entry, which the gateway appends; else the socket address). A client-sent copy is always
 * replaced, so Better Auth's rate limiter can trust it.
 */
export const CLIENT_IP_HEADER = "x-auth-service-client-ip";

/** Longest email accepted (RFC 5321: 254 octets in a path). */
export const MAX_EMAIL_LENGTH = 254;
export const MAX_NAME_LENGTH = 200;
/** Better Auth's own default upper bound, applied to sign-in too (scrypt of a huge input is work for nothing). */
export const MAX_PASSWORD_LENGTH = 128;

export interface CreateAuthOptions {
  readonly config: AuthServiceConfig;
  readonly database: AuthDatabase;
  readonly secret: string;
  readonly log: Logger;
  /** Called after each revocation event is written (default in buildApp: a log line). */
  readonly onRevocation: RevocationHook;
  /** The clock (ms) of the keyring and the revocation events; tests inject one to rotate or expire without waiting. */
  readonly now?: () => number;
  /** The revocation feed's re-read interval while requests wait (tests shorten it). */
  readonly feedRecheckMs?: number;
  readonly feedMaxWaiters?: number;
}

/**
 * Rows Better Auth reads when a call names no limit (its default is 100). The keyring reads the
 * whole `jwks` table, whose rows are never deleted: with the default, after 100 rotations it saw
 * only the oldest hundred keys and minted a new one on every sync. Deleting a user's sessions
 * reads them first, too, and runs the delete hooks (the revocation events) only for those read.
 */
export const FIND_MANY_LIMIT = 10_000;

/**
 * Builds the Better Auth instance: email + password, sessions, jwt (publish-ahead keys), bearer,
 * and the revocation events (docs/revocation.md).
 */
export function createAuth(options: CreateAuthOptions) {
  const { config, database, secret, log, onRevocation } = options;
  const now = options.now ?? Date.now;
  const keyring = new KeyRing({
    policy: {
      algorithm: config.jwt.algorithm,
      intervalS: config.jwt.rotationIntervalS,
      leadS: config.jwt.rotationLeadS,
      graceS: config.jwt.rotationGraceS,
    },
    now,
    onMint: (key, { activatesAt }) => log.info({ kid: key.id, alg: key.alg, activatesAt: activatesAt.toISOString(), expiresAt: key.expiresAt ? new Date(key.expiresAt).toISOString() : null }, "signing key published"),
  });

  const jwtOptions = {
    jwks: { keyPairConfig: keyPairConfig(config.jwt.algorithm) },
    jwt: {
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      // A number would be an absolute `exp`; a duration string is relative to `iat`.
      expirationTime: `${config.jwt.lifetimeS}s`,
      // A slim token: not the user row. iat, sub, exp, iss and aud are added by the plugin.
      definePayload: ({ user, session }) => ({ email: user.email, name: user.name, sid: session.id }),
    },
    adapter: keyring.adapter,
  } satisfies JwtOptions;
  keyring.attach(jwtOptions);

  const revocations = new Revocations({ config, keyring, log, now, onRevocation, feedRecheckMs: options.feedRecheckMs, feedMaxWaiters: options.feedMaxWaiters });

  const auth = betterAuth({
    appName: "todo-auth-service",
    baseURL: config.baseUrl,
    secret,
    database: database.handle,
    emailAndPassword: { enabled: true, maxPasswordLength: MAX_PASSWORD_LENGTH },
    trustedOrigins: [...config.trustedOrigins],
    plugins: [jwt(jwtOptions), bearer(), revocations.plugin],
    rateLimit: {
      enabled: config.rateLimit,
      storage: "memory",
      // Better Auth's defaults for these paths (3 per 10 s), stated so they are visible here.
      customRules: {
        "/sign-in/email": { window: 10, max: 3 },
        "/sign-up/email": { window: 10, max: 3 },
      },
    },
    advanced: {
      // Checks on even under NODE_ENV=test, so the tests exercise what production does.
      disableOriginCheck: false,
      ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] },
      database: { defaultFindManyLimit: FIND_MANY_LIMIT },
    },
    logger: {
      level: betterAuthLogLevel(config.logLevel),
      log: (level, message, ...args) => {
        if (level === "error") markInternalError();
        // Better Auth puts e-mail addresses into its messages ("Sign-up attempt for existing
        // email: …"); redaction cannot reach inside a message, so they are masked here.
        const detail = args.map((arg) => (arg instanceof Error ? arg.message : typeof arg === "string" ? arg : "")).filter(Boolean).join("; ");
        const fields = detail ? { detail: withoutEmails(detail) } : {};
        log[level === "error" ? "error" : level === "warn" ? "warn" : level === "debug" ? "debug" : "info"](fields, `better-auth: ${withoutEmails(message)}`);
      },
    },
    telemetry: { enabled: false },
    // Unexpected (non-API) errors reach the HTTP layer, which logs them once and answers 500 JSON;
    // otherwise Better Auth's router prints them with console.error and answers an empty 500.
    onAPIError: { throw: true },
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        if (ctx.path !== "/sign-up/email" && ctx.path !== "/sign-in/email") return;
        const body: unknown = ctx.body;
        if (body === null || typeof body !== "object") return;
        const { email, name, password } = body as Record<string, unknown>;
        if (typeof email === "string" && email.length > MAX_EMAIL_LENGTH) {
          throw new APIError("BAD_REQUEST", { message: `Email is too long (at most ${MAX_EMAIL_LENGTH} characters)`, code: "EMAIL_TOO_LONG" });
        }
        if (typeof name === "string" && name.length > MAX_NAME_LENGTH) {
          throw new APIError("BAD_REQUEST", { message: `Name is too long (at most ${MAX_NAME_LENGTH} characters)`, code: "NAME_TOO_LONG" });
        }
        if (typeof password === "string" && password.length > MAX_PASSWORD_LENGTH) {
          throw new APIError("BAD_REQUEST", { message: "Password too long", code: "PASSWORD_TOO_LONG" });
        }
      }),
    },
    user: { deleteUser: { enabled: true } },
  });
  return { auth, keyring, revocations };
}

export type Auth = ReturnType<typeof createAuth>["auth"];

function keyPairConfig(alg: AuthServiceConfig["jwt"]["algorithm"]): JWKOptions {
  switch (alg) {
    case "EdDSA":
      return { alg, crv: "Ed25519" };
    case "ES256":
    case "ES512":
      return { alg };
    case "RS256":
    case "PS256":
      return { alg, modulusLength: 2048 };
  }
}
