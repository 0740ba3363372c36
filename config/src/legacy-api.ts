import { ConfigError } from "./errors.ts";
import { EnvReader, deepFreeze, readShutdownTimeout, type Env } from "./env.ts";
import { readLogLevel, type LogLevel } from "./log-level.ts";

/** Settings of the legacy Spec 001 API stub. */
export interface LegacyApiConfig {
  /** Listen address (`LEGACY_API_HOST`, default 127.0.0.1). */
  readonly host: string;
  /** Listen port (`LEGACY_API_PORT`, default 8000). */
  readonly port: number;
  /** pino level (`LOG_LEVEL`). */
  readonly logLevel: LogLevel;
  /** `SHUTDOWN_TIMEOUT_S` (25): on SIGTERM, in-flight requests get this long. */
  readonly shutdownTimeoutS: number;
}

export const LEGACY_API_DEFAULT_PORT = 8000;

/** Reads and validates the stub's settings; throws {@link ConfigError} listing every problem. */
export function loadLegacyApiConfig(source: Env): LegacyApiConfig {
  const env = new EnvReader(source);
  const config: LegacyApiConfig = {
    host: env.host("LEGACY_API_HOST", "127.0.0.1"),
    port: env.port("LEGACY_API_PORT", LEGACY_API_DEFAULT_PORT),
    logLevel: readLogLevel(env),
    shutdownTimeoutS: readShutdownTimeout(env),
  };
  if (env.problems.length > 0) throw new ConfigError(env.problems);
  return deepFreeze(config);
}
