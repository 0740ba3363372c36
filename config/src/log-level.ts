import type { EnvReader } from "./env.ts";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function readLogLevel(env: EnvReader): LogLevel {
  return env.oneOf("LOG_LEVEL", LOG_LEVELS, "info");
}
