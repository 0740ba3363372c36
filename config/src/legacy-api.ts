import { isAbsolute, resolve } from "node:path";
import { ConfigError } from "./errors.ts";
import { EnvReader, deepFreeze, quote, readShutdownTimeout, type Env } from "./env.ts";
import { readLogLevel, type LogLevel } from "./log-level.ts";
import { readLogFormat, type LogFormat } from "./logging.ts";

/**
 * Where the stub keeps its tasks: in memory (gone when the process stops), or in a SQLite file
 * (kept across restarts, as the real back ends keep them in their database).
 */
export type LegacyApiStoreConfig =
  | { readonly kind: "memory" }
  | { readonly kind: "sqlite"; readonly path: string };

/** Settings of the legacy Spec 001 API stub. */
export interface LegacyApiConfig {
  /** Listen address (`LEGACY_API_HOST`, default 127.0.0.1). */
  readonly host: string;
  /** Listen port (`LEGACY_API_PORT`, default 8000). */
  readonly port: number;
  /**
   * `LEGACY_API_DATABASE`: `memory` (the default when the stub runs alone, and in tests) or the
   * path of a SQLite file, created when missing (`npm start` passes `.data/tasks.db`).
   */
  readonly store: LegacyApiStoreConfig;
  /** pino level (`LOG_LEVEL`). */
  readonly logLevel: LogLevel;
  /** `LOG_FORMAT`: `json` (one JSON line per entry, the default) or `pretty` (for a terminal). */
  readonly logFormat: LogFormat;
  /** `SHUTDOWN_TIMEOUT_S` (25): on SIGTERM, in-flight requests get this long. */
  readonly shutdownTimeoutS: number;
}

export const LEGACY_API_DEFAULT_PORT = 8000;
/** The `LEGACY_API_DATABASE` value that keeps tasks in memory. */
export const LEGACY_API_MEMORY_STORE = "memory";

export interface LoadLegacyApiOptions {
  /** A relative `LEGACY_API_DATABASE` resolves against this; default `process.cwd()`. */
  readonly cwd?: string;
}

/** Reads and validates the stub's settings; throws {@link ConfigError} listing every problem. */
export function loadLegacyApiConfig(source: Env, options: LoadLegacyApiOptions = {}): LegacyApiConfig {
  const env = new EnvReader(source);
  const config: LegacyApiConfig = {
    host: env.host("LEGACY_API_HOST", "127.0.0.1"),
    port: env.port("LEGACY_API_PORT", LEGACY_API_DEFAULT_PORT),
    store: readStore(env, options.cwd ?? process.cwd()),
    logLevel: readLogLevel(env),
    logFormat: readLogFormat(env),
    shutdownTimeoutS: readShutdownTimeout(env),
  };
  if (env.problems.length > 0) throw new ConfigError(env.problems);
  return deepFreeze(config);
}

function readStore(env: EnvReader, cwd: string): LegacyApiStoreConfig {
  const name = "LEGACY_API_DATABASE";
  const memory = { kind: "memory" } as const;
  const value = env.raw(name);
  if (value === undefined || value === LEGACY_API_MEMORY_STORE) return memory;
  if (value.trim() === "") return env.problem(name, `is empty (use ${LEGACY_API_MEMORY_STORE} or the path of a SQLite file)`) ?? memory;
  // SQLite's own special names would silently give a store that forgets (":memory:", "") or a URI.
  if (value === ":memory:" || value.startsWith("file:")) {
    return env.problem(name, `${quote(value)}: use ${LEGACY_API_MEMORY_STORE} or a plain file path`) ?? memory;
  }
  if (value.endsWith("/") || value.includes("\0")) return env.problem(name, `${quote(value)} is not a file path`) ?? memory;
  return { kind: "sqlite", path: isAbsolute(value) ? value : resolve(cwd, value) };
}
