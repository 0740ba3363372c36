import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "./errors.ts";
import { EnvReader, deepFreeze, quote, readShutdownTimeout, type Env } from "./env.ts";
import { readLogLevel, type LogLevel } from "./log-level.ts";
import { readLogFormat, type LogFormat } from "./logging.ts";
import { parseAddressRange, type AddressRange } from "./addresses.ts";
import { originOf } from "./origins.ts";
import { REVOCATION_FEED_PATH } from "./revocation-events.ts";
import { MIN_HMAC_SECRET_BYTES } from "./secrets.ts";
import { DEFAULT_ROUTE_TABLE_FILE, loadRouteTable, type RouteTable, type RouteTableContext } from "./route-table.ts";
import { RATE_LIMIT_REQUESTS, RATE_LIMIT_WINDOW_S, UPSTREAM_FORMAT, rangeOf } from "./route-file-format.ts";

const UPSTREAM = UPSTREAM_FORMAT.fields;

export const JWT_ALGORITHMS = [
  "EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
  "HS256", "HS384", "HS512",
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export function isHmacAlgorithm(alg: string): boolean {
  return alg === "HS256" || alg === "HS384" || alg === "HS512";
}


/** Everything the gateway needs, validated and frozen. */
export interface GatewayConfig {
  /** `GATEWAY_HOST` (127.0.0.1). */
  readonly host: string;
  /** `GATEWAY_PORT` (8080). */
  readonly port: number;
  readonly jwt: {
    /** `JWT_ALGORITHMS`: accepted `alg` values. */
    readonly algorithms: readonly JwtAlgorithm[];
    /** `JWKS_URL`; `undefined` when only HS* algorithms are accepted. */
    readonly jwksUrl: string | undefined;
    /** `BETTER_AUTH_SECRET` as the HS* key; `undefined` when no HS* algorithm is accepted. */
    readonly hmacSecret: string | undefined;
    /** `JWT_ISSUER`; `undefined` disables the check. */
    readonly issuer: string | undefined;
    /** `JWT_AUDIENCE`; `undefined` disables the check. */
    readonly audience: string | undefined;
    /** `JWT_CLOCK_TOLERANCE_S`: leeway on exp / nbf / iat, in seconds. */
    readonly clockToleranceS: number;
    /** Largest accepted token, in bytes (docs/behaviour.md §9.1: 8 KiB). */
    readonly maxTokenBytes: number;
  };
  /** Largest accepted request body, in bytes (docs/behaviour.md §9.1: 1 MiB). */
  readonly bodyLimitBytes: number;
  /** Bounds on what clients can make the gateway hold; each past its bound is refused, not queued. */
  readonly limits: {
    /** `MAX_HEADER_COUNT` (100): header lines per request; more get 431. */
    readonly maxHeaderCount: number;
    /** `MAX_CONNECTIONS` (4096): client connections open at once; more are closed on accept. */
    readonly maxConnections: number;
    /** `MAX_CONNECTIONS_PER_ADDRESS` (256; 0 = no limit): connections one client address may hold open. */
    readonly maxConnectionsPerAddress: number;
    /** `BODY_MEMORY_LIMIT_MB` (64), in bytes: request bodies held in memory at once; past it, 503. */
    readonly bodyMemoryBytes: number;
    /** `HEADERS_TIMEOUT_MS` (10000): a request's headers must arrive within this; else 408. */
    readonly headersTimeoutMs: number;
    /** `REQUEST_TIMEOUT_MS` (30000): the whole request, body included, must arrive within this; else 408. */
    readonly requestTimeoutMs: number;
    /** `MAX_EVENT_LOOP_DELAY_MS` (500; 0 = off): while the event loop lags more, new requests get 503. */
    readonly maxEventLoopDelayMs: number;
  };
  /**
   * `TRUSTED_PROXIES` (none): addresses and CIDRs of the load balancers in front, whose
   * X-Forwarded-For / -Proto / -Host the gateway believes; the client address is the rightmost
   * X-Forwarded-For entry not among them.
   */
  readonly trustedProxies: readonly AddressRange[];
  /** Defaults of every route's rate limits; `undefined`: no limit. */
  readonly rateLimits: {
    /** `RATE_LIMIT_PER_USER`: requests per window per `sub`, on protected routes. */
    readonly perUser: number | undefined;
    /** `RATE_LIMIT_PER_ADDRESS`: requests per window per client address, on every route. */
    readonly perAddress: number | undefined;
    /** `RATE_LIMIT_WINDOW_S` (60). */
    readonly windowS: number;
  };
  /** `GATEWAY_WORKERS` (1): gateway processes on the one port (node:cluster); `auto` = available cores. */
  readonly workers: number;
  /** `SHUTDOWN_TIMEOUT_S` (25): on SIGTERM, in-flight requests get this long; then connections are closed. */
  readonly shutdownTimeoutS: number;
  /** `REDIS_URL`: where revocation events are read from and rate limits counted, shared by every gateway. */
  readonly redisUrl: string | undefined;
  /** Where revocation events come from (docs/revocation.md). */
  readonly revocation: GatewayRevocationConfig;
  /** `CORS_ORIGINS`: web origins allowed to call the gateway from a browser, with credentials. */
  readonly corsOrigins: readonly string[];
  /** `WEB_CLIENT_DIR`: the built web client served under `/app/` (default `web-client/dist`). */
  readonly webClientDir: string;
  /** `GATEWAY_CONFIG`, or the default table (config/default-routes.yaml); re-read on SIGHUP. */
  readonly routeTableFile: string;
  /** The validated table: routes (ops routes first) and the upstreams they name. */
  readonly routeTable: RouteTable;
  /** `LOG_LEVEL`. */
  readonly logLevel: LogLevel;
  /** `LOG_FORMAT`: `json` (one JSON line per entry, the default) or `pretty` (for a terminal). */
  readonly logFormat: LogFormat;
}

/** `REVOCATION_SOURCE`: Redis (`REDIS_URL`), the auth-service's feed, or none. */
export type GatewayRevocationConfig =
  | { readonly source: "redis"; readonly redisUrl: string; readonly failMode: RevocationFailMode }
  | { readonly source: "feed"; readonly feedUrl: string; readonly failMode: RevocationFailMode }
  | { readonly source: "off" };

export const REVOCATION_FAIL_MODES = ["open", "closed"] as const;
export type RevocationFailMode = (typeof REVOCATION_FAIL_MODES)[number];

export const GATEWAY_DEFAULTS = Object.freeze({
  host: "127.0.0.1",
  port: 8080,
  legacyApiUrl: "http://127.0.0.1:8000",
  authServiceUrl: "http://127.0.0.1:3001",
  upstreamTimeoutMs: 10_000,
  upstreamMaxConnections: 256,
  upstreamMaxQueue: 1024,
  clockToleranceS: 5,
  maxHeaderCount: 100,
  maxConnections: 4096,
  maxConnectionsPerAddress: 256,
  bodyMemoryLimitMb: 64,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxEventLoopDelayMs: 500,
});

/** Reads and validates the gateway's settings; throws {@link ConfigError} listing every problem. */
export function loadGatewayConfig(source: Env): GatewayConfig {
  const env = new EnvReader(source);
  const { context, authUrl, algorithms, hmacSecret } = readRouteTableContext(env, source);
  const needsJwks = algorithms.some((alg) => !isHmacAlgorithm(alg));
  const jwksUrl = needsJwks ? env.httpUrl("JWKS_URL", `${authUrl}/api/auth/jwks`) : undefined;
  const redisUrl = env.optionalString("REDIS_URL") === undefined ? undefined : env.redisUrl("REDIS_URL");
  const requestTimeoutMs = env.integer("REQUEST_TIMEOUT_MS", GATEWAY_DEFAULTS.requestTimeoutMs, { min: 1000, max: 3_600_000 });
  const headersTimeoutMs = env.integer("HEADERS_TIMEOUT_MS", Math.min(GATEWAY_DEFAULTS.headersTimeoutMs, requestTimeoutMs), { min: 1000, max: 3_600_000 });
  if (headersTimeoutMs > requestTimeoutMs) env.problem("HEADERS_TIMEOUT_MS", `${headersTimeoutMs} must not exceed REQUEST_TIMEOUT_MS (${requestTimeoutMs})`);

  // By default the gateway expects what the auth-service puts in iss and aud: its own base URL.
  const authOrigin = originOf(authUrl) ?? authUrl;
  const config: GatewayConfig = {
    host: env.host("GATEWAY_HOST", GATEWAY_DEFAULTS.host),
    port: env.port("GATEWAY_PORT", GATEWAY_DEFAULTS.port),
    jwt: {
      algorithms,
      jwksUrl,
      hmacSecret,
      issuer: emptyDisables(env.string("JWT_ISSUER", authOrigin)),
      audience: emptyDisables(env.string("JWT_AUDIENCE", authOrigin)),
      clockToleranceS: env.integer("JWT_CLOCK_TOLERANCE_S", GATEWAY_DEFAULTS.clockToleranceS, { max: 3600 }),
      maxTokenBytes: 8 * 1024,
    },
    corsOrigins: env.origins("CORS_ORIGINS"),
    webClientDir: readWebClientDir(env),
    bodyLimitBytes: 1024 * 1024,
    limits: {
      maxHeaderCount: env.integer("MAX_HEADER_COUNT", GATEWAY_DEFAULTS.maxHeaderCount, { min: 10, max: 1000 }),
      maxConnections: env.integer("MAX_CONNECTIONS", GATEWAY_DEFAULTS.maxConnections, { min: 1, max: 1_000_000 }),
      maxConnectionsPerAddress: env.integer("MAX_CONNECTIONS_PER_ADDRESS", GATEWAY_DEFAULTS.maxConnectionsPerAddress, { max: 1_000_000 }),
      bodyMemoryBytes: env.integer("BODY_MEMORY_LIMIT_MB", GATEWAY_DEFAULTS.bodyMemoryLimitMb, { min: 1, max: 65_536 }) * 1024 * 1024,
      headersTimeoutMs,
      requestTimeoutMs,
      maxEventLoopDelayMs: env.integer("MAX_EVENT_LOOP_DELAY_MS", GATEWAY_DEFAULTS.maxEventLoopDelayMs, { max: 60_000 }),
    },
    shutdownTimeoutS: readShutdownTimeout(env),
    workers: readWorkers(env),
    trustedProxies: readTrustedProxies(env),
    rateLimits: readRateLimits(env),
    redisUrl,
    revocation: readRevocation(env, authUrl, needsJwks, redisUrl),
    routeTableFile: readRouteTableFile(env),
    routeTable: { source: "", upstreams: {}, routes: [] },
    logLevel: readLogLevel(env),
    logFormat: readLogFormat(env),
  };
  if (env.problems.length > 0) throw new ConfigError(env.problems);
  // The table is read only once the settings it depends on are known to be good.
  return deepFreeze({ ...config, routeTable: loadRouteTable(config.routeTableFile, context) });
}

/**
 * What a route table needs from the environment: `${NAME}` values (with the gateway's
 * defaults for LEGACY_API_URL and AUTH_SERVICE_URL), the default timeout and credentials.
 * Exported so a reload (SIGHUP) reads the table exactly as start-up did.
 */
export function gatewayRouteTableContext(source: Env): RouteTableContext {
  const env = new EnvReader(source);
  const { context } = readRouteTableContext(env, source);
  if (env.problems.length > 0) throw new ConfigError(env.problems);
  return context;
}

function readRouteTableContext(env: EnvReader, source: Env) {
  // Each environment default has the range of the route-file field it stands in for.
  const defaultTimeoutMs = env.integer("UPSTREAM_TIMEOUT_MS", GATEWAY_DEFAULTS.upstreamTimeoutMs, rangeOf(UPSTREAM.timeoutMs.schema));
  const legacyUrl = env.httpUrl("LEGACY_API_URL", GATEWAY_DEFAULTS.legacyApiUrl);
  const authUrl = env.httpUrl("AUTH_SERVICE_URL", GATEWAY_DEFAULTS.authServiceUrl);
  const algorithms = readAlgorithms(env);
  const hmacSecret = algorithms.some(isHmacAlgorithm) ? readHmacSecret(env) : undefined;
  const context: RouteTableContext = {
    env: { ...source, LEGACY_API_URL: legacyUrl, AUTH_SERVICE_URL: authUrl },
    defaultTimeoutMs,
    defaultMaxConnections: env.integer("UPSTREAM_MAX_CONNECTIONS", GATEWAY_DEFAULTS.upstreamMaxConnections, rangeOf(UPSTREAM.maxConnections.schema)),
    defaultMaxQueue: env.integer("UPSTREAM_MAX_QUEUE", GATEWAY_DEFAULTS.upstreamMaxQueue, rangeOf(UPSTREAM.maxQueue.schema)),
    stripAuthorization: env.boolean("STRIP_AUTHORIZATION", false),
    acceptedHmacSecret: hmacSecret,
  };
  return { context, authUrl, algorithms, hmacSecret };
}

/**
 * `REVOCATION_SOURCE` (`redis` when `REDIS_URL` is set, else `feed`): events from the Redis
 * stream, or from the auth-service's feed (`REVOCATION_FEED_URL`, default
 * `${AUTH_SERVICE_URL}/internal/revocations`); `off` turns the check off (and is the only
 * choice without a JWKS: events are signed with the JWKS's keys).
 */
function readRevocation(env: EnvReader, authUrl: string, hasJwks: boolean, redisUrl: string | undefined): GatewayRevocationConfig {
  const source = env.oneOf("REVOCATION_SOURCE", ["redis", "feed", "off"] as const, redisUrl !== undefined ? "redis" : hasJwks ? "feed" : "off");
  const failMode = env.oneOf("REVOCATION_FAIL_MODE", REVOCATION_FAIL_MODES, "open");
  if (source === "off") return { source };
  if (!hasJwks) {
    env.problem("REVOCATION_SOURCE", `${source} needs a JWKS (events are signed with its keys); JWT_ALGORITHMS lists only HS* algorithms (use off)`);
    return { source: "off" };
  }
  if (source === "redis") {
    if (redisUrl === undefined) return env.problem("REVOCATION_SOURCE", "redis needs REDIS_URL") ?? { source: "off" };
    return { source, redisUrl, failMode };
  }
  return { source, feedUrl: env.httpUrl("REVOCATION_FEED_URL", `${authUrl}${REVOCATION_FEED_PATH}`), failMode };
}

function readTrustedProxies(env: EnvReader): AddressRange[] {
  const ranges: AddressRange[] = [];
  for (const item of env.list("TRUSTED_PROXIES", [])) {
    const range = parseAddressRange(item);
    if (range === undefined) env.problem("TRUSTED_PROXIES", `${quote(item)} is not an address or CIDR such as 10.0.0.5 or 10.0.0.0/8`);
    else ranges.push(range);
  }
  return ranges;
}

function readRateLimits(env: EnvReader): GatewayConfig["rateLimits"] {
  const requests = rangeOf(RATE_LIMIT_REQUESTS);
  const limit = (name: string) => {
    if (env.optionalString(name) === undefined) return undefined;
    if (env.raw(name)!.trim() === "0") return env.problem(name, "a rate limit of zero would refuse everything (leave it unset for no limit)");
    return env.integer(name, 1, requests);
  };
  return {
    perUser: limit("RATE_LIMIT_PER_USER"),
    perAddress: limit("RATE_LIMIT_PER_ADDRESS"),
    windowS: env.integer("RATE_LIMIT_WINDOW_S", 60, rangeOf(RATE_LIMIT_WINDOW_S)),
  };
}

function readWorkers(env: EnvReader): number {
  const value = env.optionalString("GATEWAY_WORKERS");
  if (value === undefined) return 1;
  if (value.trim().toLowerCase() === "auto") return availableParallelism();
  return env.integer("GATEWAY_WORKERS", 1, { min: 1, max: 1024 });
}

function readAlgorithms(env: EnvReader): JwtAlgorithm[] {
  const listed = env.list("JWT_ALGORITHMS", ["EdDSA"]);
  if (listed.length === 0) {
    env.problem("JWT_ALGORITHMS", "must list at least one algorithm");
    return ["EdDSA"];
  }
  const unknown = listed.filter((alg) => !(JWT_ALGORITHMS as readonly string[]).includes(alg));
  if (unknown.length > 0) {
    env.problem("JWT_ALGORITHMS", `${unknown.map((a) => JSON.stringify(a)).join(", ")} not supported (use ${JWT_ALGORITHMS.join(", ")})`);
  }
  return [...new Set(listed.filter((alg): alg is JwtAlgorithm => !unknown.includes(alg)))];
}

function readHmacSecret(env: EnvReader): string | undefined {
  const secret = env.optionalString("BETTER_AUTH_SECRET");
  if (secret === undefined) {
    return env.problem("BETTER_AUTH_SECRET", "is required when JWT_ALGORITHMS lists an HS* algorithm");
  }
  if (Buffer.byteLength(secret, "utf8") < MIN_HMAC_SECRET_BYTES) {
    return env.problem("BETTER_AUTH_SECRET", `must be at least ${MIN_HMAC_SECRET_BYTES} bytes for HS* tokens (RFC 7518 §3.2)`);
  }

  return secret;
}

function readRouteTableFile(env: EnvReader): string {
  const file = env.optionalString("GATEWAY_CONFIG");
  if (file === undefined) return DEFAULT_ROUTE_TABLE_FILE;
  const path = isAbsolute(file) ? file : resolve(file);
  if (!existsSync(path)) return env.problem("GATEWAY_CONFIG", `${JSON.stringify(file)} does not exist`) ?? path;
  if (!/\.(ya?ml|json)$/i.test(path)) return env.problem("GATEWAY_CONFIG", `${JSON.stringify(file)} must be a .json, .yaml or .yml file`) ?? path;
  return path;
}

const DEFAULT_WEB_CLIENT_DIR = fileURLToPath(new URL("../../web-client/dist", import.meta.url));

function readWebClientDir(env: EnvReader): string {
  const value = env.optionalString("WEB_CLIENT_DIR");
  if (value === undefined) return DEFAULT_WEB_CLIENT_DIR;
  const path = isAbsolute(value) ? value : resolve(value);
  if (!existsSync(path)) return env.problem("WEB_CLIENT_DIR", `${JSON.stringify(value)} does not exist`) ?? path;
  return path;
}

function emptyDisables(value: string): string | undefined {
  return value === "" ? undefined : value;
}


