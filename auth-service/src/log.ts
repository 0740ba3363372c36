import { createServiceLogger, type LogFormat, type LogLevel } from "@todo-gateway/config";
import type { Logger } from "pino";
import { currentRequestId } from "./request-context.ts";

export type { Logger };

/**
 * The auth-service's logger, in the shape every service logs in (config/src/logging.ts), on
 * stderr (stdout is kept for the start-up lines). Every line written while a request is being
 * handled carries its `reqId`, Better Auth's own lines included.
 */
export function createLogger(level: LogLevel, format: LogFormat = "json", stream?: NodeJS.WritableStream): Logger {
  return createServiceLogger("auth-service", {
    level, format, fd: 2, stream,
    mixin: () => {
      const reqId = currentRequestId();
      return reqId === undefined ? {} : { reqId };
    },
  });
}

/** Better Auth's logger levels for ours. */
export function betterAuthLogLevel(level: LogLevel): "debug" | "info" | "warn" | "error" {
  if (level === "trace" || level === "debug") return "debug";
  if (level === "info") return "info";
  if (level === "warn") return "warn";
  return "error";
}
