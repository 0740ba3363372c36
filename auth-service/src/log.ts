import type { LogLevel } from "@todo-gateway/config";

const RANK: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: 100 };

/** A small leveled logger: one JSON line per entry on stderr (stdout is kept for the start-up lines). */
export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const at = (name: "error" | "warn" | "info" | "debug") => (msg: string, fields?: Record<string, unknown>) => {
    if (RANK[name] < RANK[level]) return;
    write(`${JSON.stringify({ level: name, time: new Date().toISOString(), service: "auth-service", msg, ...fields })}\n`);
  };
  return { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
}

/** Better Auth's logger levels for ours. */
export function betterAuthLogLevel(level: LogLevel): "debug" | "info" | "warn" | "error" {
  if (level === "trace" || level === "debug") return "debug";
  if (level === "info") return "info";
  if (level === "warn") return "warn";
  return "error";
}
