import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * The local PostgreSQL the tests use: 127.0.0.1:5432, trust auth. `USER` may be unset on the
 * test machines, so the role is named explicitly (`TEST_POSTGRES_URL` overrides the whole URL).
 */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Runs SQL as the admin role (on the `postgres` database). */
  admin(sql: string): Promise<void>;
  drop(): Promise<void>;
}

/**
 * Whether PostgreSQL answers. When it does not: with `REQUIRE_SERVICES=1` this throws (the run
 * must fail, not skip); otherwise it prints why the PostgreSQL tests are skipped.
 */
export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch (error) {
    const reason = `PostgreSQL unreachable at ${POSTGRES_ADMIN_URL}: ${error instanceof Error ? error.message : String(error)}`;
    if (process.env.REQUIRE_SERVICES === "1") {
      throw new Error(`${reason} (REQUIRE_SERVICES=1, so the PostgreSQL tests must run)`);
    }
    console.warn(`SKIPPING PostgreSQL tests: ${reason} (set REQUIRE_SERVICES=1 to make this a failure)`);
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates a fresh, uniquely named database; `drop()` removes it (terminating leftover connections). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `auth_test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    name,
    admin: adminQuery,
    drop: async () => {
      await adminQuery(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`).catch(() => undefined);
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
