import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import type { AuthDatabaseConfig } from "@todo-gateway/config";

/** The open database handle Better Auth is given, plus how to close it. */
export interface AuthDatabase {
  readonly kind: AuthDatabaseConfig["kind"];
  /** What `betterAuth({ database })` accepts. */
  readonly handle: Database.Database | pg.Pool;
  /** A description safe to print (no password). */
  readonly description: string;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Called when an idle PostgreSQL connection dies (the database went away); the pool recovers by itself. */
  readonly onIdleError?: (error: Error) => void;
}

/** Opens SQLite (creating its folder) or a PostgreSQL pool. PostgreSQL connects lazily. */
export function openDatabase(config: AuthDatabaseConfig, options: OpenDatabaseOptions = {}): AuthDatabase {
  if (config.kind === "sqlite") {
    mkdirSync(dirname(config.path), { recursive: true });
    const db = new Database(config.path);
    db.pragma("journal_mode = WAL");
    db.pragma("busy_timeout = 5000");
    return {
      kind: "sqlite",
      handle: db,
      description: `SQLite ${config.path}`,
      close: async () => {
        if (db.open) db.close();
      },
    };
  }
  const pool = new pg.Pool({
    connectionString: config.url,
    max: 10,
    // Fail a request quickly while the database is away instead of queueing it for ever.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // Without a listener an idle client's error (server restart, network loss) crashes the process.
  pool.on("error", (error) => options.onIdleError?.(error));
  let closed = false;
  return {
    kind: "postgres",
    handle: pool,
    description: `PostgreSQL ${redactUrl(config.url)}`,
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.href;
  } catch {
    return "postgres://…";
  }
}
