import { describe } from "vitest";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "./helpers/postgres.ts";
import { defineRevocationSuite } from "./helpers/revocation-suite.ts";
import { defineAuthServiceSuite, type Backend } from "./helpers/suite.ts";

// Each app gets a fresh database; all are dropped after each suite.
const available = await postgresAvailable();
const created: TestDatabase[] = [];
const postgres: Backend = {
  name: "postgres",
  env: async () => {
    const db = await createTestDatabase();
    created.push(db);
    return { DATABASE_URL: db.url };
  },
  cleanup: async () => {
    await Promise.all(created.splice(0).map((db) => db.drop()));
  },
};

describe.skipIf(!available)("PostgreSQL", () => {
  defineAuthServiceSuite(postgres);
  defineRevocationSuite(postgres);
});
