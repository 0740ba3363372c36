import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "./errors.ts";
import { EnvReader, deepFreeze, readShutdownTimeout, type Env } from "./env.ts";
import { readLogLevel, type LogLevel } from "./log-level.ts";
import { readLogFormat, type LogFormat } from "./logging.ts";
import { loopbackTwin, originOf } from "./origins.ts";
import { REVOCATION_RETENTION_MARGIN_S } from "./revocation-events.ts";
import { MIN_HMAC_SECRET_BYTES } from "./secrets.ts";

/** Signing algorithms Better Auth 1.7's jwt plugin can mint keys for. */
export const AUTH_SERVICE_JWT_ALGORITHMS = ["EdDSA", "ES256", "ES512", "RS256", "PS256"] as const;
export type AuthServiceJwtAlgorithm = (typeof AUTH_SERVICE_JWT_ALGORITHMS)[number];

export const NODE_ENVS = ["development", "test", "production"] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

/** Where users, sessions and keys are stored. */
export type AuthDatabaseConfig =
  | {
      readonly kind: "sqlite";
      /** Absolute path of the SQLite file; its folder is created at start. */
      readonly path: string;
    }
  | {
      readonly kind: "postgres";
      /** The `postgres://` / `postgresql://` connection string, as given. */
      readonly url: string;
    };

/** Settings of the auth-service, validated and frozen. */
export interface AuthServiceConfig {
  /** `AUTH_HOST` (127.0.0.1). */
  readonly host: string;
  /** `AUTH_PORT` (3001). */
  readonly port: number;
  /** `BETTER_AUTH_URL`: the service's public base URL, without a trailing slash. */
  readonly baseUrl: string;
  /** `NODE_ENV`; unset means `development` (Better Auth's and Node's own reading of it). */
  readonly nodeEnv: NodeEnv;
  /**
   * `BETTER_AUTH_SECRET`. `undefined` only in development (the service then keeps a generated
   * secret in {@link dataDir}) or test (an in-memory random secret per process).
   */
  readonly secret: string | undefined;
  /** `DATABASE_URL`: SQLite file by default, PostgreSQL for `postgres://` URLs. */
  readonly database: AuthDatabaseConfig;
  /** `DATA_DIR` (`.data`), absolute: the SQLite default and the development secret live here. */
  readonly dataDir: string;
  /** Origins Better Auth accepts: `TRUSTED_ORIGINS`, `CORS_ORIGINS`, and the gateway's public origin (and its localhost twin). */
  readonly trustedOrigins: readonly string[];
  /** `GATEWAY_PUBLIC_URL` (http://127.0.0.1:8080). */
  readonly gatewayPublicUrl: string;
  /** Rate limiting of sign-in / sign-up; on in production. */
  readonly rateLimit: boolean;
  readonly jwt: {
    /** `JWT_ALGORITHM` (EdDSA). */
    readonly algorithm: AuthServiceJwtAlgorithm;
    /** `JWT_LIFETIME_S` (900): `exp - iat`. */
    readonly lifetimeS: number;
    /** `JWT_ISSUER`: the `iss` claim; defaults to the origin of `BETTER_AUTH_URL`. */
    readonly issuer: string;
    /** `JWT_AUDIENCE`: the `aud` claim; defaults to the origin of `BETTER_AUTH_URL`. */
    readonly audience: string;
    /** `JWT_ROTATION_INTERVAL_S` (0 = never rotate): how long a key signs before its successor takes over. */
    readonly rotationIntervalS: number;
    /**
     * `JWT_ROTATION_GRACE_S` (86400): how long a retired key stays in the JWKS; at least the token
     * lifetime, and with rotation on at least `lifetime + REVOCATION_RETENTION_MARGIN_S`, so every
     * revocation event (kept that long) still verifies with the key that signed it.
     */
    readonly rotationGraceS: number;
    /** `JWT_ROTATION_LEAD_S` (600): how long a new key is published in the JWKS before it signs. */
    readonly rotationLeadS: number;
  };
  /**
   * `REDIS_URL` (unset: no relay): revocation events are relayed to this Redis's stream
   * (docs/revocation.md §3). A `redis://` or `rediss://` URL; it may carry a password, so it is
   * never printed as given.
   */
  readonly redisUrl: string | undefined;
  /** `LOG_LEVEL`. */
  readonly logLevel: LogLevel;
  /** `LOG_FORMAT`: `json` (one JSON line per entry, the default) or `pretty` (for a terminal). */
  readonly logFormat: LogFormat;
  /** `SHUTDOWN_TIMEOUT_S` (25): on SIGTERM, in-flight requests get this long. */
  readonly shutdownTimeoutS: number;
}

export const AUTH_SERVICE_DEFAULTS = Object.freeze({
  host: "127.0.0.1",
  port: 3001,
  gatewayPublicUrl: "http://127.0.0.1:8080",
  dataDir: ".data",
  jwtLifetimeS: 900,
  rotationIntervalS: 0,
  rotationGraceS: 86_400,
  rotationLeadS: 600,
  minSecretLength: MIN_HMAC_SECRET_BYTES,
  /**
   * The shortest publish-ahead lead time with rotation on. The JWKS says max-age = lead / 2, and
   * a gateway refreshes on that schedule (at most once a second): 10 s leaves every gateway two
   * refreshes, each within its 5 s fetch timeout, to learn a key before it signs a token.
   */
  minRotationLeadS: 10,
  /** Bits, by Better Auth's own estimate (distinct characters ^ length); it warns below 120. */
  minSecretEntropyBits: 120,
});

export interface LoadAuthServiceOptions {
  /** Relative paths (`DATA_DIR`, a SQLite `DATABASE_URL`) resolve against this; default `process.cwd()`. */
  readonly cwd?: string;
}

/**
 * Reads and validates the auth-service's settings; throws {@link ConfigError} listing every
 * problem, one line each. Touches no disk: the development secret is the service's business.
 */
export function loadAuthServiceConfig(source: Env, options: LoadAuthServiceOptions = {}): AuthServiceConfig {
  const env = new EnvReader(source);
  const cwd = options.cwd ?? process.cwd();
  const nodeEnv = env.oneOf("NODE_ENV", NODE_ENVS, "development");
  const port = env.port("AUTH_PORT", AUTH_SERVICE_DEFAULTS.port);
  const baseUrl = env.httpUrl("BETTER_AUTH_URL", `http://127.0.0.1:${port}`);
  const baseOrigin = originOf(baseUrl) ?? baseUrl;
  const gatewayPublicUrl = env.httpUrl("GATEWAY_PUBLIC_URL", AUTH_SERVICE_DEFAULTS.gatewayPublicUrl);
  const dataDir = resolve(cwd, env.string("DATA_DIR", AUTH_SERVICE_DEFAULTS.dataDir) || AUTH_SERVICE_DEFAULTS.dataDir);

  const lifetimeS = env.integer("JWT_LIFETIME_S", AUTH_SERVICE_DEFAULTS.jwtLifetimeS, { min: 30, max: 86_400 });
  const rotationIntervalS = env.integer("JWT_ROTATION_INTERVAL_S", AUTH_SERVICE_DEFAULTS.rotationIntervalS, { max: 10 * 365 * 86_400 });
  const rotationLeadS = env.integer("JWT_ROTATION_LEAD_S", AUTH_SERVICE_DEFAULTS.rotationLeadS, { max: 30 * 86_400 });
  const eventLifetimeS = lifetimeS + REVOCATION_RETENTION_MARGIN_S;
  const rotationGraceS = env.integer("JWT_ROTATION_GRACE_S", Math.max(AUTH_SERVICE_DEFAULTS.rotationGraceS, eventLifetimeS), { max: 365 * 86_400 });
  if (rotationIntervalS > 0 && rotationLeadS < AUTH_SERVICE_DEFAULTS.minRotationLeadS) {
    env.problem("JWT_ROTATION_LEAD_S", `${rotationLeadS} is too short: gateways may not have fetched a new key before it signs; use at least ${AUTH_SERVICE_DEFAULTS.minRotationLeadS}`);
  } else if (rotationIntervalS > 0 && rotationLeadS >= rotationIntervalS) {
    env.problem("JWT_ROTATION_LEAD_S", `${rotationLeadS} must be shorter than JWT_ROTATION_INTERVAL_S (${rotationIntervalS}): the next key is published this long before it signs`);
  }
  if (rotationGraceS < lifetimeS) {
    env.problem("JWT_ROTATION_GRACE_S", `${rotationGraceS} is shorter than JWT_LIFETIME_S (${lifetimeS}): tokens signed just before a rotation would stop verifying before they expire`);
  } else if (rotationIntervalS > 0 && rotationGraceS < eventLifetimeS) {
    // An event is kept (and must verify) until iat + lifetime + margin: its key must stay published as long.
    env.problem("JWT_ROTATION_GRACE_S", `${rotationGraceS} is shorter than JWT_LIFETIME_S + ${REVOCATION_RETENTION_MARGIN_S} (${eventLifetimeS}): revocation events signed just before a rotation would stop verifying while gateways still need them`);
  }

  const config: AuthServiceConfig = {
    host: env.host("AUTH_HOST", AUTH_SERVICE_DEFAULTS.host),
    port,
    baseUrl,
    nodeEnv,
    secret: readSecret(env, nodeEnv),
    database: readDatabase(env, cwd, dataDir),
    dataDir,
    trustedOrigins: readTrustedOrigins(env, gatewayPublicUrl),
    gatewayPublicUrl,
    rateLimit: nodeEnv === "production",
    jwt: {
      algorithm: env.oneOf("JWT_ALGORITHM", AUTH_SERVICE_JWT_ALGORITHMS, "EdDSA"),
      lifetimeS,
      issuer: readClaim(env, "JWT_ISSUER", baseOrigin),
      audience: readClaim(env, "JWT_AUDIENCE", baseOrigin),
      rotationIntervalS,
      rotationGraceS,
      rotationLeadS,
    },
    redisUrl: readRedisUrl(env, "REDIS_URL"),
    logLevel: readLogLevel(env),
    logFormat: readLogFormat(env),
    shutdownTimeoutS: readShutdownTimeout(env),
  };
  if (env.problems.length > 0) throw new ConfigError(env.problems);
  return deepFreeze(config);
}

/**
 * Better Auth's own estimate (distinct characters ^ length, in bits). Crude, but it is the
 * figure Better Auth warns on, so a secret that passes here never draws that warning.
 */
export function estimateSecretEntropyBits(secret: string): number {
  const distinct = new Set(secret).size;
  return distinct <= 1 ? 0 : secret.length * Math.log2(distinct);
}

function readSecret(env: EnvReader, nodeEnv: NodeEnv): string | undefined {
  const secret = env.optionalString("BETTER_AUTH_SECRET");
  if (secret === undefined) {
    if (nodeEnv === "development" || nodeEnv === "test") return undefined;
    return env.problem("BETTER_AUTH_SECRET", `is required when NODE_ENV is ${nodeEnv} (generate one with: openssl rand -hex 32)`);
  }
  if (nodeEnv === "development") return secret;
  if (secret.length < AUTH_SERVICE_DEFAULTS.minSecretLength) {
    return env.problem("BETTER_AUTH_SECRET", `is ${secret.length} characters; at least ${AUTH_SERVICE_DEFAULTS.minSecretLength} are required (openssl rand -hex 32)`);
  }
  if (estimateSecretEntropyBits(secret) < AUTH_SERVICE_DEFAULTS.minSecretEntropyBits) {
    return env.problem("BETTER_AUTH_SECRET", "looks low-entropy (too few distinct characters); use a random value such as: openssl rand -hex 32");
  }
  return secret;
}

function readDatabase(env: EnvReader, cwd: string, dataDir: string): AuthDatabaseConfig {
  const fallback: AuthDatabaseConfig = { kind: "sqlite", path: join(dataDir, "auth.db") };
  const value = env.optionalString("DATABASE_URL");
  if (value === undefined) return fallback;
  if (/^postgres(ql)?:\/\//i.test(value)) {
    try {
      new URL(value);
    } catch {
      return env.problem("DATABASE_URL", "is not a valid postgres:// URL") ?? fallback;
    }
    return { kind: "postgres", url: value };
  }
  if (/^file:/i.test(value)) {
    try {
      return { kind: "sqlite", path: fileURLToPath(value) };
    } catch {
      return env.problem("DATABASE_URL", "is not a valid file: URL") ?? fallback;
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    // Never echo the value: a URL may carry a password.
    return env.problem("DATABASE_URL", "must be postgres://…, postgresql://… or a SQLite file path") ?? fallback;
  }
  return { kind: "sqlite", path: isAbsolute(value) ? value : resolve(cwd, value) };
}

/**
 * An optional `redis://` / `rediss://` URL with a host. The problem line never echoes the value:
 * it may carry a password.
 */
export function readRedisUrl(env: EnvReader, name: string): string | undefined {
  const value = env.optionalString(name)?.trim();
  if (value === undefined || value === "") return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return env.problem(name, "is not a valid URL (expected redis://[user:password@]host[:port][/db] or rediss://…)");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    return env.problem(name, "must be a redis:// or rediss:// URL");
  }
  if (url.hostname === "") return env.problem(name, "has no host (expected redis://host[:port])");
  const db = url.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d{1,2}$/.test(db)) return env.problem(name, "has a path that is not a database number (redis://host:6379/0)");
  return value;
}

function readTrustedOrigins(env: EnvReader, gatewayPublicUrl: string): string[] {
  const origins = new Set<string>();
  for (const item of env.list("TRUSTED_ORIGINS", [])) {
    // Better Auth also accepts wildcard patterns (https://*.example.com); pass those through.
    if (item.includes("*")) {
      origins.add(item);
      continue;
    }
    if (!URL.canParse(item)) {
      env.problem("TRUSTED_ORIGINS", `${JSON.stringify(item)} is not an origin such as https://app.example.com`);
      continue;
    }
    const origin = originOf(item);
    if (origin === undefined) {
      env.problem("TRUSTED_ORIGINS", `${JSON.stringify(item)} has no origin (use scheme://host[:port])`);
      continue;
    }
    origins.add(origin);
  }
  // Web apps allowed to call the gateway cross-origin sign in through it too.
  for (const origin of env.origins("CORS_ORIGINS")) origins.add(origin);
  const gatewayOrigin = originOf(gatewayPublicUrl) ?? gatewayPublicUrl;
  origins.add(gatewayOrigin);
  const twin = loopbackTwin(gatewayOrigin);
  if (twin !== undefined) origins.add(twin);
  return [...origins];
}

function readClaim(env: EnvReader, name: string, fallback: string): string {
  const value = env.string(name, fallback).trim();
  if (value === "") return env.problem(name, "must not be empty (the gateway checks it on every token)") ?? fallback;
  return value;
}
