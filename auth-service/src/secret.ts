import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AuthServiceConfig } from "@todo-gateway/config";

/** Where the development secret is kept, inside `DATA_DIR`. */
export const DEV_SECRET_FILE = "auth-secret";

export interface ResolvedSecret {
  readonly value: string;
  /** How it was obtained, for the start-up warning. */
  readonly source: "environment" | "development-file" | "development-file-created" | "test-ephemeral";
  /** The file holding it, for the development sources. */
  readonly file?: string;
}

/**
 * The secret Better Auth signs cookies and encrypts private keys with. `BETTER_AUTH_SECRET`
 * when set; in development a random secret generated once and kept in `DATA_DIR` (so a restart
 * keeps sessions and keys valid); in test a random secret for this process only.
 */
export function resolveSecret(config: AuthServiceConfig): ResolvedSecret {
  if (config.secret !== undefined) return { value: config.secret, source: "environment" };
  if (config.nodeEnv === "test") return { value: randomBytes(32).toString("hex"), source: "test-ephemeral" };
  if (config.nodeEnv !== "development") {
    // The loader already refuses this; kept so a hand-built config cannot start without a secret.
    throw new Error("BETTER_AUTH_SECRET is required outside development and test");
  }
  const file = join(config.dataDir, DEV_SECRET_FILE);
  try {
    const existing = readFileSync(file, "utf8").trim();
    if (existing.length >= 32) return { value: existing, source: "development-file", file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  mkdirSync(config.dataDir, { recursive: true });
  const value = randomBytes(32).toString("hex");
  // `wx`: never overwrite a secret another process wrote a moment ago.
  try {
    writeFileSync(file, `${value}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return { value: readFileSync(file, "utf8").trim(), source: "development-file", file };
    throw error;
  }
  return { value, source: "development-file-created", file };
}
