import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { buildApp } from "@todo-gateway/legacy-api-stub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crudMix, FreshTokenPool, prepareContext, readCold, readHot, rejectFlood, type BenchContext, type PlannedRequest, type RunInfo } from "../src/scenarios.ts";
import { TokenIssuer } from "../src/tokens.ts";

let stub: FastifyInstance;
let base: string;
let ctx: BenchContext;

beforeAll(async () => {
  stub = await buildApp({ host: "127.0.0.1", port: 0, logLevel: "silent", logFormat: "json", store: { kind: "memory" }, shutdownTimeoutS: 5 }, { logger: false });
  await stub.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(stub.server.address() as AddressInfo).port}`;
  ctx = await prepareContext(base, await TokenIssuer.create(), 10);
});

afterAll(async () => {
  await stub?.close();
});

const run = (target: RunInfo["target"], seed = 1, expectedRps = 100): RunInfo => ({ target, durationS: 1, seed, expectedRps });
const take = (source: { next(): PlannedRequest }, n: number) => Array.from({ length: n }, () => source.next());
const subjectOf = (request: PlannedRequest) =>
  (JSON.parse(Buffer.from(request.headers.authorization!.split(".")[1]!, "base64url").toString()) as { sub: string }).sub;

async function send(request: PlannedRequest): Promise<number> {
  const response = await fetch(base + request.path, { method: request.method, headers: request.headers, body: request.body });
  const body = await response.text();
  request.onDone?.(response.status, body);
  return response.status;
}

describe("prepareContext", () => {
  it("gives user i 1 + i % 3 tokens and seeds each user's list", async () => {
    expect(ctx.tokensByUser.map((t) => t.length)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1]);
    const response = await fetch(`${base}/api/${ctx.users[0]}/tasks`);
    expect(((await response.json()) as unknown[]).length).toBe(5);
  });
});

describe("read-hot", () => {
  it("sends the direct API and the gateway the same requests for the same seed", async () => {
    const scenario = readHot(ctx);
    const direct = take((await scenario.open(run("direct", 7))).source, 200);
    const gateway = take((await scenario.open(run("gateway", 7))).source, 200);
    expect(gateway.map((r) => [r.path, r.headers.authorization])).toEqual(direct.map((r) => [r.path, r.headers.authorization]));
  });

  it("only uses a token on its own user's path, expecting 200", async () => {
    const { source } = await readHot(ctx).open(run("gateway"));
    for (const request of take(source, 300)) {
      expect(request.expect).toBe(200);
      expect(request.path).toBe(`/api/${subjectOf(request)}/tasks`);
    }
  });
});

describe("read-cold", () => {
  it("never sends the gateway a token twice across runs, and reports a reuse if the pool runs dry", async () => {
    const pool = new FreshTokenPool(ctx);
    const scenario = readCold(ctx, pool);
    const seen = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const opened = await scenario.open(run("gateway", i, 200));
      for (const request of take(opened.source, 250)) {
        expect(seen.has(request.headers.authorization!)).toBe(false);
        seen.add(request.headers.authorization!);
        expect(request.path).toBe(`/api/${subjectOf(request)}/tasks`);
      }
      expect(await opened.close()).toEqual({});
    }
    const greedy = await scenario.open(run("gateway", 3, 0));
    take(greedy.source, pool.size);
    expect((await greedy.close()).reusedTokens).toBeGreaterThan(0);
  });
});

describe("reject-flood", () => {
  it("expects 401 for forged tokens and 403 for another user's path from the gateway, 200 from the direct API", async () => {
    const scenario = rejectFlood(ctx);
    const gateway = take((await scenario.open(run("gateway"))).source, 400);
    const forged = gateway.filter((r) => r.kind === "forged-signature");
    const wrongUser = gateway.filter((r) => r.kind === "wrong-user");
    expect(forged.length + wrongUser.length).toBe(400);
    expect(forged.length).toBeGreaterThan(150);
    expect(wrongUser.length).toBeGreaterThan(150);
    for (const r of forged) expect(r.expect).toBe(401);
    for (const r of wrongUser) {
      expect(r.expect).toBe(403);
      expect(r.path).not.toBe(`/api/${subjectOf(r)}/tasks`);
    }
    expect(new Set(forged.map((r) => r.headers.authorization)).size).toBe(forged.length);
    for (const r of take((await scenario.open(run("direct"))).source, 50)) expect(r.expect).toBe(200);
  });
});

describe("crud-mix", () => {
  it("keeps to the 70/10/10/5/5 mix, every request valid under concurrency, and deletes its tasks afterwards", async () => {
    const opened = await crudMix(ctx).open(run("direct", 3));
    const kinds: Record<string, number> = {};
    const unexpected: string[] = [];
    const users = new Set<string>();
    let sent = 0;
    // 32 requests in flight at a time, like connections: a leased task is never touched twice at once.
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (sent < 3000) {
        sent += 1;
        const request = opened.source.next();
        kinds[request.kind] = (kinds[request.kind] ?? 0) + 1;
        users.add(request.path.split("/")[2]!);
        const status = await send(request);
        if (status !== request.expect) unexpected.push(`${request.method} ${request.path} ${status}`);
      }
    }));
    expect(unexpected).toEqual([]);
    expect(kinds.list! / sent).toBeCloseTo(0.7, 1);
    expect(kinds.create! / sent).toBeCloseTo(0.1, 1);
    expect(kinds.toggle! / sent).toBeCloseTo(0.1, 1);
    expect(kinds.update! / sent).toBeCloseTo(0.05, 1);
    expect(kinds.delete! / sent).toBeCloseTo(0.05, 1);

    expect(users.size).toBe(ctx.users.length);
    await opened.close();
    for (const user of users) {
      expect(await (await fetch(`${base}/api/${user}/tasks`)).json()).toEqual([]);
    }
  });
});
