import { pino, type Logger } from "pino";
import type { LogLevel } from "@todo-gateway/config";

/**
 * pino options, set once: credentials are redacted wherever they might appear, so a header
 * dump added later cannot leak a token, cookie or key.
 */
export function loggerOptions(level: LogLevel) {
  return {
    level,
    redact: {
      paths: [
        "req.headers.authorization", "req.headers.cookie", "req.headers[\"proxy-authorization\"]",
        "res.headers[\"set-cookie\"]", "headers.authorization", "headers.cookie", "headers[\"set-cookie\"]",
        "*.authorization", "*.cookie", "*[\"set-cookie\"]", "token", "*.token", "secret", "*.secret",
      ],
      censor: "[redacted]",
    },
  };
}

/**
 * The gateway's one logger. Fastify's own request logger is off: it builds a child logger per
 * request, which the hot path does not need; request lines carry `reqId` explicitly instead.
 */
export function createLogger(level: LogLevel, stream?: NodeJS.WritableStream): Logger {
  const options = loggerOptions(level);
  return stream ? pino(options, stream as pino.DestinationStream) : pino(options);
}
