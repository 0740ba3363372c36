import { describe } from "vitest";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "./helpers/postgres.ts";
import { defineAuthServiceSuite } from "./helpers/suite.ts";

// Each app gets a fresh database; all are dropped after the suite.
const available = await postgresAvailable();
const created: TestDatabase[] = [];

describe.skipIf(!available)("PostgreSQL", () => {
  defineAuthServiceSuite({
    name: "postgres",
    env: async () => {
      const db = await createTestDatabase();
      created.push(db);
      return { DATABASE_URL: db.url };
    },
    cleanup: async () => {
      await Promise.all(created.splice(0).map((db) => db.drop()));
    },
  });
});
