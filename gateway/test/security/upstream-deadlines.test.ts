/**
 * Attack (or just a bad day): an upstream that hangs or trickles. `UPSTREAM_TIMEOUT_MS` used to
 * be undici's phase timeouts, which start only once a pooled socket is free and restart on
 * every body chunk: against a hung upstream at 300 req/s the 504s came after up to 20.7 s, the
 * queue in front of the pool had no bound, a trickling answer held a request for as long as it
 * trickled, and SIGTERM then waited without limit. Now the timeout is a deadline from the
 * moment a request is forwarded to the last byte of its answer, the queue is bounded (503 with
 * Retry-After past it), and shutdown has its own deadline.
 */
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/fixture.ts";
import { startGateway } from "../helpers/gateway.ts";
import { startGatewayProcess } from "../helpers/process.ts";
import { AUDIENCE, ISSUER, mintToken } from "../helpers/tokens.ts";

/** Accepts connections and reads requests, and never answers. */
let hung: TcpServer;
let hungUrl: string;
const hungSockets = new Set<Socket>();
/** Answers with headers at once, then one byte every 100 ms, for ever. */
let trickle: Server;
let trickleUrl: string;
let fx: Fixture;

beforeAll(async () => {
  fx = await startFixture();
  hung = createTcpServer((socket) => {
    hungSockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => hungSockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
  hungUrl = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
  trickle = createHttpServer((req, res) => {
    const sized = req.url!.includes("sized");
    res.writeHead(200, { "content-type": "text/plain", ...(sized ? { "content-length": "1000" } : {}) });
    const timer = setInterval(() => res.write("."), 100);
    res.on("close", () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => trickle.listen(0, "127.0.0.1", resolve));
  trickleUrl = `http://127.0.0.1:${(trickle.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of hungSockets) socket.destroy();
  trickle.closeAllConnections();
  await Promise.all([new Promise((r) => hung.close(r)), new Promise((r) => trickle.close(r)), fx.close()]);
});

const gatewayIn = (url: string, env: Record<string, string> = {}) =>
  startGateway({ JWKS_URL: fx.jwks.url, LEGACY_API_URL: url, AUTH_SERVICE_URL: fx.upstream.url, ...env });

describe("a hung upstream", () => {
  it("answers every request 504 at the deadline, queued ones included", async () => {
    const gateway = await gatewayIn(hungUrl, { UPSTREAM_TIMEOUT_MS: "500", UPSTREAM_MAX_CONNECTIONS: "4" });
    try {
      const headers = { authorization: `Bearer ${await fx.token("alice")}` };
      const started = Date.now();
      // 40 requests over 4 sockets: phase timeouts would answer the last wave after 10 × 500 ms.
      const timed = await Promise.all(Array.from({ length: 40 }, async () => {
        const response = await fetch(`${gateway.url}/api/alice/tasks`, { headers });
        return { status: response.status, ms: Date.now() - started, body: (await response.json()) as { detail: string } };
      }));
      expect(timed.every((r) => r.status === 504)).toBe(true);
      expect(timed[0]!.body.detail).toBe("the legacy upstream did not answer within 500 ms");
      expect(Math.max(...timed.map((r) => r.ms))).toBeLessThan(2_000);
    } finally {
      await gateway.close();
    }
  });

  it("bounds the queue: past maxConnections + maxQueue waiting, 503 with Retry-After at once", async () => {
    const gateway = await gatewayIn(hungUrl, { UPSTREAM_TIMEOUT_MS: "1500", UPSTREAM_MAX_CONNECTIONS: "2", UPSTREAM_MAX_QUEUE: "3" });
    try {
      const headers = { authorization: `Bearer ${await fx.token("alice")}` };
      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: 10 }, async () => {
        const response = await fetch(`${gateway.url}/api/alice/tasks`, { headers });
        return { status: response.status, retryAfter: response.headers.get("retry-after"), ms: Date.now() - started, type: response.headers.get("content-type") };
      }));
      const busy = answers.filter((a) => a.status === 503);
      expect(busy).toHaveLength(5);
      expect(busy.every((a) => a.retryAfter === "1" && a.type === "application/problem+json" && a.ms < 1_000)).toBe(true);
      expect(answers.filter((a) => a.status === 504)).toHaveLength(5);
    } finally {
      await gateway.close();
    }
  });
});

describe("a trickling upstream", () => {
  it("is cut at the deadline while its answer is buffered: 504", async () => {
    const gateway = await gatewayIn(trickleUrl, { UPSTREAM_TIMEOUT_MS: "600" });
    try {
      const started = Date.now();
      const response = await fetch(`${gateway.url}/api/alice/tasks?sized`, { headers: { authorization: `Bearer ${await fx.token("alice")}` } });
      expect(response.status).toBe(504);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await gateway.close();
    }
  });

  it("is cut at the deadline while its answer streams: the client's connection closes", async () => {
    const gateway = await gatewayIn(trickleUrl, { UPSTREAM_TIMEOUT_MS: "600" });
    try {
      const started = Date.now();
      const response = await fetch(`${gateway.url}/api/alice/tasks`, { headers: { authorization: `Bearer ${await fx.token("alice")}` } });
      expect(response.status).toBe(200);
      await expect(response.text()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2_000);
      // The gateway is fine afterwards.
      expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    } finally {
      await gateway.close();
    }
  });
});

describe("a streamed answer that fails before its first byte", () => {
  // Headers, then silence, a reset or a malformed chunk: the answer can still be a proper
  // 504 or 502, and nothing of what the upstream sent (it may carry tokens) is logged.
  let broken: TcpServer;
  let brokenUrl: string;
  let mode: "silence" | "reset" | "bad-chunk" = "silence";
  beforeAll(async () => {
    broken = createTcpServer((socket) => {
      socket.on("error", () => undefined);
      socket.once("data", () => {
        socket.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
        if (mode === "reset") setTimeout(() => socket.resetAndDestroy(), 20);
        if (mode === "bad-chunk") socket.write('zz\r\n{"token":"SESSION-TOKEN-abc123"}\r\n');
      });
    });
    await new Promise<void>((resolve) => broken.listen(0, "127.0.0.1", resolve));
    brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => broken.close(resolve)));

  it.each([["silence", 504, "upstream-timeout"], ["reset", 502, "upstream-unavailable"], ["bad-chunk", 502, "upstream-unavailable"]] as const)(
    "answers %s with %i problem+json",
    async (which, status, type) => {
      mode = which;
      const lines: string[] = [];
      const { PassThrough } = await import("node:stream");
      const stream = new PassThrough();
      stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
      const gateway = await startGateway(
        { JWKS_URL: fx.jwks.url, LEGACY_API_URL: brokenUrl, AUTH_SERVICE_URL: fx.upstream.url, UPSTREAM_TIMEOUT_MS: "500", LOG_LEVEL: "info" },
        { logger: true, logStream: stream },
      );
      try {
        const response = await fetch(`${gateway.url}/api/alice/tasks`, { headers: { authorization: `Bearer ${await fx.token("alice")}` } });
        expect(response.status).toBe(status);
        expect(((await response.json()) as { type: string }).type).toBe(`urn:todo-gateway:problem:${type}`);
      } finally {
        await gateway.close();
      }
      const text = lines.join("\n");
      expect(text).not.toContain("SESSION-TOKEN");
      expect(text).not.toMatch(/"stack"|"level":50/);
      expect(lines.some((line) => line.includes(`"status":${status}`))).toBe(true);
    },
  );
});

describe("shutdown with requests that never finish", () => {
  let process: ReturnType<typeof startGatewayProcess> | undefined;
  afterEach(async () => {
    await process?.stop("SIGKILL");
    process = undefined;
  });

  it("exits 0 within SHUTDOWN_TIMEOUT_S, and answers late requests with its own 503 and Connection: close", async () => {
    process = startGatewayProcess({
      JWKS_URL: fx.jwks.url, LEGACY_API_URL: hungUrl, AUTH_SERVICE_URL: fx.upstream.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE,
      LOG_LEVEL: "warn", UPSTREAM_TIMEOUT_MS: "60000", SHUTDOWN_TIMEOUT_S: "2",
    });
    const url = await process.listening;
    const port = Number(new URL(url).port);
    const token = await mintToken({ key: fx.key, sub: "alice", iat: Math.floor(Date.now() / 1000) });
    // A request the hung upstream never answers: only the shutdown deadline ends it.
    const stuck = fetch(`${url}/api/alice/tasks`, { headers: { authorization: `Bearer ${token}` } }).catch((error: Error) => error);
    // A slow request in flight on a raw connection, and a second one sent on it after SIGTERM.
    fx.upstream.delayMs = 900;
    const { connect } = await import("node:net");
    let received = "";
    const raw = connect(port, "127.0.0.1");
    raw.on("data", (chunk) => (received += chunk.toString()));
    const rawClosed = new Promise((resolve) => raw.on("close", resolve));
    raw.on("error", () => undefined);
    raw.write("GET /api/auth/slow HTTP/1.1\r\nHost: g.test\r\n\r\n");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    process.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 200));
    raw.write("GET /healthz HTTP/1.1\r\nHost: g.test\r\n\r\n");
    await rawClosed;
    fx.upstream.delayMs = 0;

    const [first, second] = received.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    // The late request: the gateway's own problem+json, never Fastify's default body.
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second).toMatch(/\r\ncontent-type: application\/problem\+json\r\n/i);
    expect(second).toMatch(/\r\nconnection: close\r\n/i);
    expect(second).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(JSON.parse(second!.slice(second!.indexOf("\r\n\r\n") + 4))).toMatchObject({ status: 503, detail: "the gateway is shutting down; retry the request" });

    expect(await process.exited).toBe(0);
    const tookMs = Date.now() - started;
    expect(tookMs).toBeGreaterThan(1_800);
    expect(tookMs).toBeLessThan(4_500);
    expect(await stuck).toBeInstanceOf(Error);
    expect(process.output().stderr).toContain("requests still in flight after SHUTDOWN_TIMEOUT_S=2");
  });
});
