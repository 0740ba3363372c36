import type { AuthServiceConfig } from "@todo-gateway/config";
import { redactUrl } from "./database.ts";

/** One operator-facing line for an error that stopped start-up (no stack trace, no password). */
export function describeStartupError(error: unknown, config: AuthServiceConfig): string {
  const err: Error & { code?: unknown } = error instanceof Error ? error : new Error(String(error));
  const code = typeof err.code === "string" ? err.code : undefined;
  const where = config.database.kind === "postgres" ? `PostgreSQL at ${redactUrl(config.database.url)}` : `SQLite file ${config.database.path}`;
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "ETIMEDOUT" || /timeout exceeded when trying to connect/i.test(err.message)) {
    return `database unreachable: ${where} (DATABASE_URL): ${oneLine(err.message) || code}`;
  }
  if (code === "3D000") return `database does not exist: ${where} (DATABASE_URL)`;
  if (code === "28P01" || code === "28000") return `database refused the credentials: ${where} (DATABASE_URL): ${oneLine(err.message)}`;
  if (code?.startsWith("SQLITE_") || code === "EACCES" || code === "EROFS" || code === "ENOTDIR") {
    return `cannot open the database: ${where} (DATABASE_URL / DATA_DIR): ${oneLine(err.message)}`;
  }
  if (/decrypt private key/i.test(err.message)) {
    return "cannot use the stored signing keys: BETTER_AUTH_SECRET differs from the one they were encrypted with";
  }
  return `start-up failed: ${oneLine(err.message)}${code ? ` (${code})` : ""}`;
}

function oneLine(text: string): string {
  return text.split("\n")[0]!.trim();
}
