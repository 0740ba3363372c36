export { ConfigError } from "./errors.ts";
export { EnvReader, deepFreeze, quote, type Env } from "./env.ts";
export { loadOrExit } from "./exit.ts";
export { LOG_LEVELS, readLogLevel, type LogLevel } from "./log-level.ts";
export { loadLegacyApiConfig, LEGACY_API_DEFAULT_PORT, type LegacyApiConfig } from "./legacy-api.ts";
export {
  loadGatewayConfig, isHmacAlgorithm, JWT_ALGORITHMS, GATEWAY_DEFAULTS,
  type GatewayConfig, type JwtAlgorithm, type UpstreamConfig,
} from "./gateway.ts";
export { DEFAULT_ROUTES, HTTP_METHODS, type HttpMethod, type RouteSpec, type RouteTarget } from "./routes.ts";
export * from "./auth-service.ts";
