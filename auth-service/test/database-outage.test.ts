/**
 * The database goes away while the service runs: the requests that need it get a 5xx JSON
 * answer (no stack trace, no hang), the process survives, and it recovers by itself when the
 * database comes back. Simulated on PostgreSQL by refusing new connections and terminating
 * the pool's open ones.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, startTestApp, uniqueEmail, type TestApp } from "./helpers/app.ts";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "./helpers/postgres.ts";

const available = await postgresAvailable();

describe.skipIf(!available)("PostgreSQL lost while running", () => {
  let db: TestDatabase;
  let t: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase();
    t = await startTestApp({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it("answers 5xx JSON while the database is gone and recovers when it returns", async () => {
    const email = uniqueEmail("outage");
    const client = new Client(t.url);
    await client.signUp(email);
    expect((await client.get("/api/auth/token")).status).toBe(200);

    await db.admin(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS false`);
    await db.admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.name}' AND pid <> pg_backend_pid()`);

    for (const attempt of [
      () => new Client(t.url).post("/api/auth/sign-in/email", { email, password: "correct horse battery staple" }),
      () => client.get("/api/auth/token"),
      () => new Client(t.url).post("/api/auth/sign-in/email", { email, password: "correct horse battery staple" }),
    ]) {
      const res = await attempt();
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      const text = await res.text();
      expect(() => JSON.parse(text)).not.toThrow();
      expect(text).not.toMatch(/\n\s+at |node_modules|ECONNREFUSED|pg_hba|does not allow/);
    }
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);

    await db.admin(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS true`);
    const again = new Client(t.url);
    expect((await again.post("/api/auth/sign-in/email", { email, password: "correct horse battery staple" })).status).toBe(200);
    expect((await again.get("/api/auth/token")).status).toBe(200);
    expect((await client.get("/api/auth/token")).status).toBe(200);
  });
});
