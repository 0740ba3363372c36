export { ConfigError } from "./errors.ts";
export { EnvReader, deepFreeze, quote, readShutdownTimeout, DEFAULT_SHUTDOWN_TIMEOUT_S, type Env } from "./env.ts";
export { loadOrExit } from "./exit.ts";
export { LOG_LEVELS, readLogLevel, type LogLevel } from "./log-level.ts";
export {
  LOG_FORMATS, REDACTED_LOG_PATHS, createServiceLogger, describeError, readLogFormat, requestIdFrom, serviceLoggerOptions, withoutEmails,
  type LogFormat, type ServiceLoggerOptions,
} from "./logging.ts";
export {
  loadLegacyApiConfig, LEGACY_API_DEFAULT_PORT, LEGACY_API_MEMORY_STORE,
  type LegacyApiConfig, type LegacyApiStoreConfig, type LoadLegacyApiOptions,
} from "./legacy-api.ts";
export {
  loadGatewayConfig, gatewayRouteTableContext, isHmacAlgorithm, JWT_ALGORITHMS, GATEWAY_DEFAULTS, REVOCATION_FAIL_MODES,
  type GatewayConfig, type GatewayRevocationConfig, type JwtAlgorithm, type RevocationFailMode,
} from "./gateway.ts";
export {
  AUTH_MODES, HMAC_ALGORITHMS, HTTP_METHODS, OPS_ROUTES,
  type AuthMode, type ClaimValue, type HmacAlgorithm, type HttpMethod, type RouteRateLimit, type RouteSpec, type RouteTarget, type UpstreamCredentials,
} from "./routes.ts";
export type { RouteFile, RouteFileMint, RouteFileRoute, RouteFileUpstream } from "./route-file-format.ts";
export {
  DEFAULT_ROUTE_TABLE_FILE, loadRouteTable, parseRouteTable,
  type RouteTable, type RouteTableContext, type UpstreamConfig,
} from "./route-table.ts";
export * from "./auth-service.ts";
export * from "./headers.ts";
export * from "./path-pattern.ts";
export * from "./revocation-events.ts";
export { addressMatcher, parseAddressRange, type AddressRange } from "./addresses.ts";
export { runService, type Service, type ServiceDefinition } from "./service.ts";
export { LISTENING_LINE, REPO_ROOT, StartFailure, startChild, type ChildService, type ChildSpec } from "./processes.ts";
