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
