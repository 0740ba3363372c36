import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRequest, measureProcesses, readProc, runLoad } from "../src/measure.ts";
import type { PlannedRequest } from "../src/scenarios.ts";

let server: Server;
let url: string;
const arrivals: number[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    arrivals.push(performance.now());
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      response.writeHead(request.url === "/missing" ? 404 : 200, { "content-type": "text/plain" });
      // Echo paths answer with the path and the number of body bytes received.
      response.end(request.url!.startsWith("/echo/") ? `${request.url} ${Buffer.concat(chunks).length}` : "ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("encodeRequest", () => {
  it("writes an HTTP/1.1 request with Host, keep-alive, the request's headers and a byte-exact Content-Length", () => {
    const planned: PlannedRequest = {
      kind: "create", method: "POST", path: "/api/u/tasks", headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: '{"title":"café"}', expect: 201,
    };
    expect(encodeRequest(planned, "127.0.0.1:8080").toString("utf8")).toBe(
      "POST /api/u/tasks HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: keep-alive\r\n" +
        "authorization: Bearer t\r\ncontent-type: application/json\r\nContent-Length: 17\r\n\r\n" + '{"title":"café"}',
    );
  });

  it("encodes a reused request object once", () => {
    const cache = new WeakMap<PlannedRequest, Buffer>();
    const planned: PlannedRequest = { kind: "list", method: "GET", path: "/", headers: {}, expect: 200 };
    expect(encodeRequest(planned, "h", cache)).toBe(encodeRequest(planned, "h", cache));
  });
});

describe("runLoad", () => {
  it("delivers request bodies intact and hands each answer to the request that asked", async () => {
    const bodies: string[] = [];
    let n = 0;
    const source = {
      next: (): PlannedRequest => {
        const i = n++;
        return { kind: "echo", method: "POST", path: `/echo/${i}`, headers: { "content-type": "text/plain" }, body: `ünïcode ${i}`, expect: 200, onDone: (_s, body) => bodies.push(`${i}:${body}`) };
      },
    };
    await runLoad({ url, mode: { kind: "concurrency", connections: 2 }, durationS: 0.2, source });
    expect(bodies.length).toBeGreaterThan(10);
    for (const entry of bodies) {
      const [i, body] = entry.split(":");
      expect(body).toBe(`/echo/${i} ${Buffer.byteLength(`ünïcode ${i}`)}`);
    }
  });

  it("counts every answer whose status is not the one its request expects, by kind", async () => {
    let n = 0;
    const source = {
      next: (): PlannedRequest => (n++ % 4 === 0
        ? { kind: "missing", method: "GET", path: "/missing", headers: {}, expect: 200 }
        : { kind: "present", method: "GET", path: "/present", headers: {}, expect: 200 }),
    };
    const result = await runLoad({ url, mode: { kind: "concurrency", connections: 4 }, durationS: 0.3, source });
    expect(result.responses).toBeGreaterThan(40);
    expect(result.statuses["404"]).toBeGreaterThan(0);
    expect(result.unexpected).toEqual({ "missing 404": result.statuses["404"] });
    expect(result.unexpectedCount).toBe(result.statuses["404"]);
    expect(result.errors).toBe(0);
    expect(result.latency.p50).toBeGreaterThan(0);
    expect(result.latency.p50).toBeLessThan(result.latency.max + 1e-9);
  });

  it("paces the fixed-rate mode evenly through each second instead of bursting at its start", async () => {
    arrivals.length = 0;
    const source = { next: (): PlannedRequest => ({ kind: "ok", method: "GET", path: "/", headers: {}, expect: 200 }) };
    const result = await runLoad({ url, mode: { kind: "rate", rate: 400, connections: 8 }, durationS: 1.5, source });
    // Loose floors: the suite shares 2 cores with browser tests, and an event-loop stall costs
    // rate. What tells pacing from bursting is the per-window maximum below.
    expect(result.rateAchieved).toBeGreaterThan(0.6);
    expect(result.rateAchieved).toBeLessThan(1.1);
    // 400 req/s is 20 per 50 ms window. autocannon's own limiter sends the whole second's 400
    // in the first window or two of each second. Paced sends fill nearly every window; only a
    // stall of the event loop (other tests share the cores) bunches a few up.
    const start = arrivals[0]!;
    const windows = Math.floor((arrivals.at(-1)! - start) / 50) + 1;
    const perWindow = new Array<number>(windows).fill(0);
    for (const t of arrivals) perWindow[Math.floor((t - start) / 50)]! += 1;
    expect(perWindow.filter((n) => n > 0).length).toBeGreaterThan(windows * 0.5);
    expect(Math.max(...perWindow)).toBeLessThan(120);
  });
});

describe("runLoad at a fixed rate, against a server that stalls once", () => {
  /**
   * A server on loopback that answers at once, except that it holds every answer due in one
   * 300 ms window until the window ends, as a garbage-collection pause or a blocked event loop
   * would. While it stalls, each connection's request in flight waits, and the requests the
   * schedule wanted sent meanwhile cannot leave: timed from their writing (coordinated
   * omission), only the few in flight show the stall; timed from their schedule, a stall of
   * 300 ms in 2 s at a steady rate delays about 15% of the requests, so it fills the p99.
   */
  const STALL_MS = 300;
  let stalling: Server;
  let stallUrl: string;
  const stall = { startsAt: Number.POSITIVE_INFINITY, endsAt: Number.POSITIVE_INFINITY, held: 0 };

  beforeAll(async () => {
    stalling = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        const now = performance.now();
        const answer = () => response.writeHead(200, { "content-type": "text/plain" }).end("ok");
        if (now >= stall.startsAt && now < stall.endsAt) {
          stall.held += 1;
          setTimeout(answer, stall.endsAt - now);
        } else {
          answer();
        }
      });
    });
    await new Promise<void>((resolve) => stalling.listen(0, "127.0.0.1", resolve));
    stallUrl = `http://127.0.0.1:${(stalling.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    stalling.closeAllConnections();
    await new Promise((resolve) => stalling.close(resolve));
  });

  it("shows the stall in p99, counting each request from its scheduled send", async () => {
    const source = { next: (): PlannedRequest => ({ kind: "ok", method: "GET", path: "/", headers: {}, expect: 200 }) };
    // The stall begins 0.8 s into the 2 s run.
    const startAt = performance.now();
    stall.startsAt = startAt + 800;
    stall.endsAt = stall.startsAt + STALL_MS;
    const result = await runLoad({ url: stallUrl, mode: { kind: "rate", rate: 1000, connections: 4 }, durationS: 2, source });
    expect(stall.held).toBeGreaterThan(0);
    expect(result.unexpectedCount + result.errors).toBe(0);
    expect(result.responses).toBeGreaterThan(500);
    // Counted from the schedule, the stall is the p99 (most of its 300 ms, more on a busy machine).
    expect(result.latency.p99).toBeGreaterThan(200);
    expect(result.latency.max).toBeGreaterThanOrEqual(STALL_MS * 0.9);
    // Counted from the writing, it hides behind the 4 requests that happened to be in flight.
    expect(result.serviceTime.p99).toBeLessThan(STALL_MS / 2);
    expect(result.lateSends).toBeGreaterThan(result.responses * 0.05);
  });
});

describe("measureProcesses", () => {
  it.runIf(readProc(process.pid) !== null)("measures the CPU a process spends during the work, per response", async () => {
    const { result, costs } = await measureProcesses({ self: process.pid, nobody: undefined }, async () => {
      // Burn 120 ms of CPU time (not wall time: other test files share the cores).
      const start = process.cpuUsage();
      while (process.cpuUsage(start).user < 120_000) Math.sqrt(Math.random());
      return { responses: 100 };
    });
    expect(result.responses).toBe(100);
    expect(costs.nobody).toBeNull();
    expect(costs.self!.cpuMs).toBeGreaterThanOrEqual(90);
    expect(costs.self!.cpuUsPerRequest).toBeCloseTo((costs.self!.cpuMs * 1000) / 100, 6);
    expect(costs.self!.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
  });
});
