/**
 * The Redis relay against a PRIVATE redis-server (its own port, no persistence), on SQLite and
 * PostgreSQL. Redis is a relay target, never a dependency of a user's request: frozen or dead it
 * must not slow a sign-out, the event waits in the outbox, and whatever Redis lost (a restart, a
 * FLUSHALL) is added again.
 */
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { REVOCATION_STREAM_KEY } from "@todo-gateway/config";
import { createLogger } from "../src/log.ts";
import { Client, startTestApp, uniqueEmail, type TestApp } from "./helpers/app.ts";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "./helpers/postgres.ts";
import { freePort, redisServerAvailable, startPrivateRedis, streamTokens, type PrivateRedis } from "./helpers/redis.ts";
import { eventsOf, readFeed } from "./helpers/revocations.ts";

const redisInstalled = redisServerAvailable();
const postgres = await postgresAvailable();
const WAIT = { timeout: 15_000, interval: 100 };
const SECRET = randomBytes(32).toString("hex");

async function signedOut(url: string, prefix: string): Promise<{ userId: string; ms: number; status: number }> {
  const client = new Client(url);
  const { userId } = await client.signUp(uniqueEmail(prefix));
  const started = performance.now();
  const res = await client.post("/api/auth/sign-out");
  return { userId, ms: performance.now() - started, status: res.status };
}

for (const backend of ["sqlite", "postgres"] as const) {
  describe.skipIf(!redisInstalled || (backend === "postgres" && !postgres))(`Redis relay on ${backend}`, () => {
    let redis: PrivateRedis;
    let db: TestDatabase | undefined;
    let t: TestApp;
    /** The unexpired events, as the outbox holds them. */
    const outboxTokens = async () => [...(await readFeed(t.url)).body.events];

    // A second instance in one test shares the database, so it needs the same secret.
    const env = () => ({ REDIS_URL: redis.url, BETTER_AUTH_SECRET: SECRET, ...(db ? { DATABASE_URL: db.url } : {}) });

    beforeAll(async () => {
      redis = await startPrivateRedis();
      db = backend === "postgres" ? await createTestDatabase() : undefined;
      t = await startTestApp(env());
      await vi.waitFor(() => expect(t.app.revocations.relay?.redis.status).toBe("ready"), WAIT);
    });
    afterAll(async () => {
      await t?.close();
      await redis?.stop();
      await db?.drop();
    });

    it("adds each event to the stream right after it is written, as the field `token`, and marks it relayed", async () => {
      const { userId } = await signedOut(t.url, "relay");
      const [event] = await eventsOf(t, userId);
      await vi.waitFor(async () => expect(await streamTokens(redis.client, REVOCATION_STREAM_KEY)).toContain(event!.token), WAIT);
      await vi.waitFor(async () => {
        const row = (await t.app.revocations.outbox.all()).find((r) => r.token === event!.token);
        expect(row?.relayed).toBe(true);
      }, WAIT);
    });

    it("a frozen Redis (socket open, nothing answers) does not slow a sign-out; the event is delivered once it answers", async () => {
      redis.freeze();
      let delivered: string;
      try {
        const { userId, ms, status } = await signedOut(t.url, "frozen");
        expect(status).toBe(200);
        // Each Redis command may take up to its 2 s timeout; the request waits for none of them.
        expect(ms).toBeLessThan(1_500);
        const [event] = await eventsOf(t, userId);
        delivered = event!.token;
        expect((await readFeed(t.url)).body.events).toContain(delivered);
      } finally {
        redis.thaw();
      }
      await vi.waitFor(async () => expect(await streamTokens(redis.client, REVOCATION_STREAM_KEY)).toContain(delivered), WAIT);
    });

    it("Redis killed: sign-out still succeeds at once, the event stays in the outbox, and a restarted (empty) Redis gets every unexpired event", async () => {
      await redis.kill();
      const { userId, ms, status } = await signedOut(t.url, "killed");
      expect(status).toBe(200);
      expect(ms).toBeLessThan(1_500);
      const [event] = await eventsOf(t, userId);
      const row = (await t.app.revocations.outbox.all()).find((r) => r.token === event!.token);
      expect(row?.relayed).toBe(false);
      // The feed is not affected by Redis.
      expect((await readFeed(t.url)).body.events).toContain(event!.token);

      await redis.restart();
      const expected = await outboxTokens();
      await vi.waitFor(async () => {
        const stream = await streamTokens(redis.client, REVOCATION_STREAM_KEY);
        expect(stream).toEqual(expect.arrayContaining([...expected]));
      }, WAIT);
      // In the order they were written.
      const stream = await streamTokens(redis.client, REVOCATION_STREAM_KEY);
      expect(stream.filter((token) => expected.includes(token))).toEqual(expected);
    });

    it("a FLUSHALL'd Redis gets every unexpired event again, without a reconnect", async () => {
      await signedOut(t.url, "flush");
      const expected = await outboxTokens();
      await vi.waitFor(async () => expect(await streamTokens(redis.client, REVOCATION_STREAM_KEY)).toEqual(expect.arrayContaining([...expected])), WAIT);
      await redis.client.flushall();
      expect(await redis.client.exists(REVOCATION_STREAM_KEY)).toBe(0);
      await vi.waitFor(async () => expect(await streamTokens(redis.client, REVOCATION_STREAM_KEY)).toEqual(expect.arrayContaining([...expected])), WAIT);
    });

    it("closes its Redis connection on app.close()", async () => {
      const other = await startTestApp(env());
      await vi.waitFor(() => expect(other.app.revocations.relay?.redis.status).toBe("ready"), WAIT);
      const clients = async () => (await redis.client.client("LIST") as string).trim().split("\n").length;
      const before = await clients();
      await other.close();
      expect(other.app.revocations.relay?.redis.status).toBe("end");
      await vi.waitFor(async () => expect(await clients()).toBe(before - 1), WAIT);
    });
  });
}

describe.skipIf(!redisInstalled)("Redis relay trimming", () => {
  let redis: PrivateRedis;
  let t: TestApp;
  let clock = Date.now();
  beforeAll(async () => {
    // One entry per stream node, so approximate (~) trimming is exact and observable.
    redis = await startPrivateRedis(["--stream-node-max-entries", "1"]);
    clock = Date.now();
    t = await startTestApp({ REDIS_URL: redis.url }, { now: () => clock });
    await vi.waitFor(() => expect(t.app.revocations.relay?.redis.status).toBe("ready"), WAIT);
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  it("drops entries older than every unexpired event, and never one it just added, even with the service's clock far ahead of Redis's", async () => {
    // An entry from long ago (stream id = 1970): it can only be for an event expired long since.
    await redis.client.xadd(REVOCATION_STREAM_KEY, "1000-0", "token", "ancient");
    const { userId: first } = await signedOut(t.url, "trim-first");
    const [kept] = await eventsOf(t, first);
    await vi.waitFor(async () => expect(await streamTokens(redis.client, REVOCATION_STREAM_KEY)).toEqual([kept!.token]), WAIT);

    // The service's clock two hours ahead of Redis's: a naive MINID (service time) would drop
    // the entry being added at once.
    clock += 2 * 3600_000;
    const { userId: second } = await signedOut(t.url, "trim-ahead");
    const [ahead] = await eventsOf(t, second);
    await vi.waitFor(async () => expect(await streamTokens(redis.client, REVOCATION_STREAM_KEY)).toContain(ahead!.token), WAIT);
  });
});

describe("Redis relay warnings", () => {
  it("logs one line, with neither stack nor password, while Redis stays unreachable; sign-out is unaffected", async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(...chunk.toString().split("\n").filter(Boolean)); done(); } });
    // Nothing listens on a port just taken from the OS and released; the password must never show.
    const dead = await freePort();
    const t = await startTestApp({ REDIS_URL: `redis://relay:hunter2@127.0.0.1:${dead}` }, { logger: createLogger("warn", "json", sink) });
    try {
      const { status } = await signedOut(t.url, "warn");
      expect(status).toBe(200);
      // Several reconnects and relay ticks within this time.
      await new Promise((r) => setTimeout(r, 3_000));
      const warnings = lines.filter((line) => line.includes("revocation relay"));
      expect(warnings).toHaveLength(1);
      const [warning] = warnings as [string];
      expect(JSON.parse(warning)).toMatchObject({ level: 40, redis: `redis://127.0.0.1:${dead}`, error: expect.stringMatching(/ECONNREFUSED|connect/) });
      expect(warning).not.toContain("hunter2");
      expect(warning).not.toMatch(/\bat .*\.(js|ts):\d+/);
      expect(lines.join("\n")).not.toContain("hunter2");
    } finally {
      await t.close();
    }
  });
});
