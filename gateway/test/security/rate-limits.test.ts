/**
 * Attack: make so many requests that others are starved, or guess tokens and paths at
 * speed. Rate limits (issue 13, item 3): per client address on every route (404s included),
 * per `sub` on protected routes, for requests that would be served; past one, 429
 * problem+json with Retry-After and the RateLimit-Limit / -Remaining / -Reset fields of
 * draft-ietf-httpapi-ratelimit-headers-06. Counted in Redis when REDIS_URL is set (keys that
 * expire with their window), in each process's memory while Redis is away, which /readyz and
 * gateway_rate_limits_shared say. Each test is a different client: it connects from its own
 * loopback address (127.0.0.N), so no test spends another's budget. Limits across processes
 * and behind a load balancer: scale/behind-nginx.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { header, httpRequest, type ClientResponse } from "../helpers/client.ts";
import { startFixture, type Fixture } from "../helpers/fixture.ts";
import { metricSum } from "../helpers/metrics.ts";
import { waitFor } from "../helpers/process.ts";
import { PrivateRedis } from "../helpers/redis.ts";
import { withSegments } from "../helpers/tokens.ts";
import { awaitNextWindow, awaitWindowRoom } from "../helpers/windows.ts";

const WINDOW_S = 30;
const PER_ADDRESS = 5;
const PER_USER = 3;
const STRICT_WINDOW_S = 2;

const dir = mkdtempSync(join(tmpdir(), "rate-limits-"));
const routeFile = join(dir, "routes.yaml");
writeFileSync(routeFile, [
  "upstreams:",
  '  legacy: { url: "${LEGACY_API_URL}" }',
  "routes:",
  '  - { name: tasks.list, methods: [GET], path: "/api/{user_id}/tasks", upstream: legacy, owner: sub == user_id }',
  '  - { name: mine, methods: [GET], path: "/mine/{user_id}", upstream: legacy, owner: sub == user_id, rateLimit: { perUser: 2 } }',
  "  - { name: public, methods: [GET], path: /public, upstream: legacy, auth: none }",
  `  - { name: strict, methods: [GET], path: /strict, upstream: legacy, auth: none, rateLimit: { perAddress: 2, windowS: ${STRICT_WINDOW_S} } }`,
  "  - { name: unlimited, methods: [GET], path: /unlimited, upstream: legacy, auth: none, rateLimit: off }",
].join("\n"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENV = {
  GATEWAY_CONFIG: routeFile, RATE_LIMIT_PER_ADDRESS: String(PER_ADDRESS), RATE_LIMIT_PER_USER: String(PER_USER), RATE_LIMIT_WINDOW_S: String(WINDOW_S),
};

/** A client of its own: requests from loopback address 127.0.0.`n`. */
function client(fx: Fixture, n: number) {
  const localAddress = `127.0.0.${n}`;
  return {
    address: localAddress,
    get: (path: string, headers: Record<string, string> = {}) => httpRequest(`${fx.gateway.url}${path}`, { localAddress, headers }),
    /** Requests the upstream got from this client (the gateway tells it in X-Real-IP). */
    forwarded: () => fx.upstream.requests.filter((request) => request.headers["x-real-ip"] === localAddress).length,
  };
}

/** The RateLimit fields as numbers; each must be a bare non-negative integer (draft-06), Reset in seconds. */
function limitFields(response: ClientResponse) {
  const read = (name: string) => {
    const value = header(response, name);
    if (value === undefined) return undefined;
    expect(value).toMatch(/^\d+$/);
    return Number(value);
  };
  return { limit: read("ratelimit-limit"), remaining: read("ratelimit-remaining"), reset: read("ratelimit-reset") };
}

function expectTooManyRequests(response: ClientResponse, limit: number, windowS: number, detail: string): void {
  expect(response.status).toBe(429);
  expect(header(response, "content-type")).toBe("application/problem+json");
  expect(header(response, "cache-control")).toBe("no-store");
  expect(JSON.parse(response.body)).toEqual({ type: "urn:todo-gateway:problem:too-many-requests", title: "Too many requests", status: 429, detail });
  const retryAfter = header(response, "retry-after");
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(windowS);
  // Reset says the same as Retry-After: when this window's budget is back.
  expect(limitFields(response)).toEqual({ limit, remaining: 0, reset: Number(retryAfter) });
}

const BY_ADDRESS = "too many requests from this address; slow down";
const BY_USER = "too many requests for this user; slow down";

describe("rate limits, counted in memory", () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture(ENV);
  });
  afterAll(() => fx.close());

  it("serves the per-address budget with RateLimit fields, then answers 429 problem+json with Retry-After", async () => {
    await awaitWindowRoom(WINDOW_S);
    const mallory = client(fx, 11);
    for (let i = 1; i <= PER_ADDRESS; i++) {
      const response = await mallory.get("/public");
      expect(response.status).toBe(200);
      const fields = limitFields(response);
      expect(fields).toMatchObject({ limit: PER_ADDRESS, remaining: PER_ADDRESS - i });
      expect(fields.reset).toBeGreaterThanOrEqual(1);
      expect(fields.reset).toBeLessThanOrEqual(WINDOW_S);
    }
    expectTooManyRequests(await mallory.get("/public"), PER_ADDRESS, WINDOW_S, BY_ADDRESS);
    expectTooManyRequests(await mallory.get("/public"), PER_ADDRESS, WINDOW_S, BY_ADDRESS);
    // Refused requests never reach the upstream; another client is served as before.
    expect(mallory.forwarded()).toBe(PER_ADDRESS);
    const other = client(fx, 12);
    expect((await other.get("/public")).status).toBe(200);
    expect(other.forwarded()).toBe(1);
  });

  it("counts a scanner's 404s against its address, on the defaults' budget", async () => {
    await awaitWindowRoom(WINDOW_S);
    const scanner = client(fx, 13);
    for (let i = 0; i < PER_ADDRESS; i++) expect((await scanner.get(`/wp-admin/${i}.php`)).status).toBe(404);
    expectTooManyRequests(await scanner.get("/wp-admin/next.php"), PER_ADDRESS, WINDOW_S, BY_ADDRESS);
    // The same budget as the routes on the defaults: spent.
    expectTooManyRequests(await scanner.get("/public"), PER_ADDRESS, WINDOW_S, BY_ADDRESS);
    expect(scanner.forwarded()).toBe(0);
  });

  it("counts a route with its own rateLimit apart, gives its budget back after Retry-After, and never limits rateLimit: off", async () => {
    await awaitNextWindow(STRICT_WINDOW_S);
    const eve = client(fx, 14);
    expect(limitFields(await eve.get("/strict"))).toMatchObject({ limit: 2, remaining: 1 });
    expect(limitFields(await eve.get("/strict"))).toMatchObject({ limit: 2, remaining: 0 });
    const refused = await eve.get("/strict");
    expectTooManyRequests(refused, 2, STRICT_WINDOW_S, BY_ADDRESS);
    // The defaults' budget is untouched by the strict route's.
    expect(limitFields(await eve.get("/public"))).toMatchObject({ limit: PER_ADDRESS, remaining: PER_ADDRESS - 1 });
    for (let i = 0; i < PER_ADDRESS + 3; i++) {
      const response = await eve.get("/unlimited");
      expect(response.status).toBe(200);
      expect(limitFields(response)).toEqual({ limit: undefined, remaining: undefined, reset: undefined });
    }
    // Waiting as long as Retry-After says is enough.
    await new Promise((resolve) => setTimeout(resolve, Number(header(refused, "retry-after")) * 1000));
    expect((await eve.get("/strict")).status).toBe(200);
  });

  it("counts a user's budget across addresses, only for requests that would be served", async () => {
    await awaitWindowRoom(WINDOW_S);
    const carol = await fx.bearer("carol");
    // Refused ones spend nothing of carol's budget: someone else's tasks (403), a forged token (401).
    const prober = client(fx, 15);
    for (let i = 0; i < 4; i++) expect((await prober.get("/api/dave/tasks", carol)).status).toBe(403);
    const forged = { authorization: `Bearer ${withSegments(await fx.token("carol"), { signature: "A".repeat(86) })}` };
    const forger = client(fx, 16);
    for (let i = 0; i < 4; i++) expect((await forger.get("/api/carol/tasks", forged)).status).toBe(401);

    // Served ones do, wherever they come from; the tightest limit is the one reported.
    const phone = client(fx, 17);
    const laptop = client(fx, 18);
    expect(limitFields(await phone.get("/api/carol/tasks", carol))).toMatchObject({ limit: PER_USER, remaining: 2 });
    expect(limitFields(await laptop.get("/api/carol/tasks", carol))).toMatchObject({ limit: PER_USER, remaining: 1 });
    expect(limitFields(await phone.get("/api/carol/tasks", carol))).toMatchObject({ limit: PER_USER, remaining: 0 });
    expectTooManyRequests(await laptop.get("/api/carol/tasks", carol), PER_USER, WINDOW_S, BY_USER);
    expect(phone.forwarded() + laptop.forwarded()).toBe(PER_USER);
    // Another user on the same address is served.
    expect((await laptop.get("/api/erin/tasks", await fx.bearer("erin"))).status).toBe(200);
  });

  it("gives a route's own perUser its own budget", async () => {
    await awaitWindowRoom(WINDOW_S);
    const frank = await fx.bearer("frank");
    const device = client(fx, 19);
    expect(limitFields(await device.get("/mine/frank", frank))).toMatchObject({ limit: 2, remaining: 1 });
    expect((await device.get("/mine/frank", frank)).status).toBe(200);
    expectTooManyRequests(await device.get("/mine/frank", frank), 2, WINDOW_S, BY_USER);
    // The defaults' per-user budget is another one.
    expect(limitFields(await device.get("/api/frank/tasks", frank))).toMatchObject({ limit: PER_USER, remaining: PER_USER - 1 });
  });

  it("never limits the gateway's own endpoints (a load balancer's probes)", async () => {
    const probe = client(fx, 20);
    for (let i = 0; i < PER_ADDRESS + 2; i++) expect((await probe.get("/healthz")).status).toBe(200);
  });

  it("reports no rate-limits check and no gateway_rate_limits_shared without REDIS_URL", async () => {
    const ready = JSON.parse((await httpRequest(`${fx.gateway.url}/readyz`)).body) as { checks: Record<string, string> };
    expect(ready.checks).not.toHaveProperty("rate-limits");
    expect(metricSum((await httpRequest(`${fx.gateway.url}/metrics`)).body, "gateway_rate_limits_shared")).toBeUndefined();
  });
});

describe("rate limits, counted in Redis", { timeout: 60_000 }, () => {
  const redis = new PrivateRedis();
  let fx: Fixture;
  let inspect: Redis;

  beforeAll(async () => {
    await redis.start();
    inspect = redis.client();
    fx = await startFixture({ ...ENV, REDIS_URL: redis.url });
    await waitFor(async () => (await shared()) === 1, 10_000, "rate limits shared");
  });
  afterAll(async () => {
    await fx.close();
    inspect.disconnect();
    await redis.stop();
  });

  const shared = async () => metricSum((await httpRequest(`${fx.gateway.url}/metrics`)).body, "gateway_rate_limits_shared");
  const check = async () => {
    const response = await httpRequest(`${fx.gateway.url}/readyz`);
    return { status: response.status, check: (JSON.parse(response.body) as { checks: Record<string, string> }).checks["rate-limits"] };
  };

  it("keeps each count in a Redis key that expires with its window", async () => {
    await awaitWindowRoom(WINDOW_S);
    const grace = client(fx, 31);
    const token = await fx.bearer("grace");
    expect((await grace.get("/api/grace/tasks", token)).status).toBe(200);
    expect((await grace.get("/api/grace/tasks", token)).status).toBe(200);
    const windowStart = Math.floor(Date.now() / (WINDOW_S * 1000)) * WINDOW_S * 1000;
    const keys = [`todo-gateway:rl:default:address:${grace.address}:${windowStart}`, `todo-gateway:rl:default:user:grace:${windowStart}`];
    for (const key of keys) {
      expect(await inspect.get(key)).toBe("2");
      const ttl = await inspect.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(WINDOW_S * 1000 + 1_000);
    }
    // Every key the gateway wrote expires.
    for (const key of await inspect.keys("todo-gateway:rl:*")) expect(await inspect.pttl(key)).toBeGreaterThan(0);
    expect(await check()).toEqual({ status: 200, check: "ok" });
  });

  it("falls back to counting in this process while Redis is down (still limited, never a 500), says so, and shares again once it is back", async () => {
    await redis.stop();
    await waitFor(async () => (await shared()) === 0, 10_000, "gateway_rate_limits_shared 0");
    // Degraded, not unready: serving with per-process limits beats refusing everyone.
    expect(await check()).toEqual({ status: 200, check: "missing" });

    await awaitWindowRoom(WINDOW_S);
    const heidi = client(fx, 32);
    const statuses: number[] = [];
    for (let i = 0; i <= PER_ADDRESS; i++) statuses.push((await heidi.get("/public")).status);
    expect(statuses).toEqual([...Array(PER_ADDRESS).fill(200), 429]);
    const ivan = await fx.bearer("ivan");
    const ivanStatuses: number[] = [];
    for (let i = 0; i <= PER_USER; i++) ivanStatuses.push((await client(fx, 33 + i).get("/api/ivan/tasks", ivan)).status);
    expect(ivanStatuses).toEqual([...Array(PER_USER).fill(200), 429]);

    // Back (empty, on the same port): the gateway reconnects by itself and counts there again.
    await redis.start();
    await waitFor(async () => (await shared()) === 1, 20_000, "gateway_rate_limits_shared 1");
    expect(await check()).toEqual({ status: 200, check: "ok" });
    const judy = client(fx, 40);
    expect((await judy.get("/public")).status).toBe(200);
    const keys = await inspect.keys(`todo-gateway:rl:default:address:${judy.address}:*`);
    expect(keys).toHaveLength(1);
    expect(await inspect.pttl(keys[0]!)).toBeGreaterThan(0);
  });

  it("says so, and still limits per process, while Redis hangs (connected, answering nothing)", async () => {
    redis.pause();
    try {
      await awaitWindowRoom(WINDOW_S);
      const leo = client(fx, 42);
      const statuses: number[] = [];
      for (let i = 0; i <= PER_ADDRESS; i++) statuses.push((await leo.get("/public")).status);
      expect(statuses).toEqual([...Array(PER_ADDRESS).fill(200), 429]);
      // The connection is still up, but no count reached Redis: that is not "shared".
      expect(await shared()).toBe(0);
      expect(await check()).toEqual({ status: 200, check: "missing" });
    } finally {
      redis.resume();
    }
    // Once Redis answers again, the next requests count there again.
    const mia = client(fx, 43);
    await waitFor(async () => (await mia.get("/public")).status === 200 && (await shared()) === 1, 15_000, "shared again");
    expect(await check()).toEqual({ status: 200, check: "ok" });
  });
});

describe("rate limits with REDIS_URL pointing nowhere", () => {
  it("starts, counts in this process and says so", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const fx = await startFixture({ ...ENV, REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      await awaitWindowRoom(WINDOW_S);
      const kate = client(fx, 41);
      const statuses: number[] = [];
      for (let i = 0; i <= PER_ADDRESS; i++) statuses.push((await kate.get("/public")).status);
      expect(statuses).toEqual([...Array(PER_ADDRESS).fill(200), 429]);
      const ready = await httpRequest(`${fx.gateway.url}/readyz`);
      expect(ready.status).toBe(200);
      expect((JSON.parse(ready.body) as { checks: Record<string, string> }).checks["rate-limits"]).toBe("missing");
      expect(metricSum((await httpRequest(`${fx.gateway.url}/metrics`)).body, "gateway_rate_limits_shared")).toBe(0);
    } finally {
      await fx.close();
    }
  });
});
