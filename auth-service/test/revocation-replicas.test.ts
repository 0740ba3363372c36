/**
 * Two auth-service replicas on one PostgreSQL database: a gateway long-polling replica A must
 * learn of a sign-out that replica B handled. A cannot be told by B; it sees B's row because it
 * re-reads the outbox while anyone waits.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Client, startTestApp, uniqueEmail, type TestApp } from "./helpers/app.ts";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "./helpers/postgres.ts";
import { readFeed, verifyEvent } from "./helpers/revocations.ts";

const available = await postgresAvailable();

describe.skipIf(!available)("revocation feed across replicas on one PostgreSQL database", () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase();
    // One deployment: the same database and the same secret (it decrypts the shared signing key).
    const env = { DATABASE_URL: db.url, BETTER_AUTH_SECRET: randomBytes(32).toString("hex") };
    a = await startTestApp(env);
    b = await startTestApp(env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it("wakes a long-poll on replica A with the event replica B wrote", async () => {
    const { body } = await readFeed(a.url);
    const poll = readFeed(a.url, `?version=${body.version}&wait=25`);
    await vi.waitFor(() => expect(a.app.revocations.feed.waiting).toBe(1));

    const client = new Client(b.url);
    const { userId } = await client.signUp(uniqueEmail("replica"));
    expect((await client.post("/api/auth/sign-out")).status).toBe(200);

    // Re-read every 500 ms: far sooner than the 25 s wait (which would outlast the test).
    const woken = await poll;
    expect(woken.body.version).not.toBe(body.version);
    const event = await verifyEvent(a, woken.body.events.at(-1)!);
    expect(event.claims).toMatchObject({ kind: "session", uid: userId, reason: "sign-out" });
    expect((await readFeed(b.url)).body).toEqual(woken.body);
  });
});
