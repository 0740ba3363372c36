/**
 * GATEWAY_WORKERS (issue 13, item 1), against the real process: a primary that only
 * supervises and two workers on one port. Every request here is a connection of its own, so
 * the cluster's round-robin spreads them over both workers; which worker served a request is
 * read from its access line (`pid`). The tests of one gateway run in order: the last stops it.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRequest } from "../helpers/client.ts";
import { JwksServer, createSigningKey } from "../helpers/keys.ts";
import { metricSum } from "../helpers/metrics.ts";
import { accessLines, childPids, logEntries, startGatewayProcess, waitFor, type GatewayProcess } from "../helpers/process.ts";
import { AUDIENCE, ISSUER } from "../helpers/tokens.ts";
import { RecordingUpstream } from "../helpers/upstream.ts";

const SHUTDOWN_TIMEOUT_S = 3;
const dir = mkdtempSync(join(tmpdir(), "gateway-workers-"));
const routeFile = join(dir, "routes.yaml");

/** The route table: `counted` and `stuck` always, plus whatever a test adds. */
function writeRoutes(extra: string[] = []): void {
  writeFileSync(routeFile, [
    "upstreams:",
    '  legacy: { url: "${LEGACY_API_URL}" }',
    '  stuck: { url: "${STUCK_URL}" }',
    "routes:",
    "  - { name: counted, methods: [GET], path: /counted, upstream: legacy, auth: none }",
    "  - { name: stuck, methods: [GET], path: /stuck, upstream: stuck, auth: none }",
    ...extra,
  ].join("\n"));
}

let jwks: JwksServer;
let upstream: RecordingUpstream;
/** An upstream that accepts connections and never answers: requests to it stay in flight. */
let stuck: NetServer;
const stuckSockets = new Set<Socket>();
let env: Record<string, string>;

beforeAll(async () => {
  jwks = await new JwksServer([await createSigningKey()]).start();
  upstream = await new RecordingUpstream().start();
  stuck = createNetServer((socket) => {
    stuckSockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => stuckSockets.delete(socket));
  });
  await new Promise<void>((resolve) => stuck.listen(0, "127.0.0.1", resolve));
  writeRoutes();
  env = {
    JWKS_URL: jwks.url, LEGACY_API_URL: upstream.url, AUTH_SERVICE_URL: upstream.url,
    STUCK_URL: `http://127.0.0.1:${(stuck.address() as AddressInfo).port}`,
    JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, GATEWAY_CONFIG: routeFile, LOG_LEVEL: "info",
    SHUTDOWN_TIMEOUT_S: String(SHUTDOWN_TIMEOUT_S), UPSTREAM_TIMEOUT_MS: "30000",
  };
});

afterAll(async () => {
  for (const socket of stuckSockets) socket.destroy();
  await new Promise((resolve) => stuck.close(resolve));
  await Promise.all([jwks.stop(), upstream.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/** `count` requests to `path`, one after another, each on a new connection; their statuses. */
async function sequential(url: string, path: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await httpRequest(`${url}${path}`)).status);
  return statuses;
}

/**
 * How many `route` requests each pid served, read from the access lines once there are at
 * least `atLeast` of them from at least `processes` pids (each worker flushes its lines about
 * once a second, on its own).
 */
async function servedBy(gateway: GatewayProcess, route: string, atLeast: number, processes = 2): Promise<Map<number, number>> {
  const count = () => {
    const pids = new Map<number, number>();
    for (const line of accessLines(gateway.output().stdout, route)) pids.set(line.pid, (pids.get(line.pid) ?? 0) + 1);
    return pids;
  };
  await waitFor(() => {
    const pids = count();
    return pids.size >= processes && [...pids.values()].reduce((a, b) => a + b, 0) >= atLeast;
  }, 10_000, `${atLeast} access lines for ${route} from ${processes} processes`);
  return count();
}

// Processes start slowly on two busy cores: generous deadlines, none of them a measure of speed.
describe("a gateway with GATEWAY_WORKERS=2", { timeout: 60_000 }, () => {
  let gateway: GatewayProcess;
  let url: string;
  let primary: number;

  beforeAll(async () => {
    gateway = startGatewayProcess({ ...env, GATEWAY_WORKERS: "2" });
    url = await gateway.listening;
    primary = gateway.child.pid!;
  });

  afterAll(async () => {
    if (gateway.alive()) await gateway.stop("SIGKILL");
  });

  it("announces itself once, with the number of workers, after both listen", () => {
    expect(gateway.output().stdout.match(/gateway listening on/g)).toHaveLength(1);
    expect(gateway.output().stdout).toContain(`gateway listening on ${url} (2 workers)`);
    expect(childPids(primary)).toHaveLength(2);
  });

  it("serves from both workers, and /metrics counts every request of both", async () => {
    const statuses = await sequential(url, "/counted", 20);
    expect(statuses).toEqual(Array(20).fill(200));
    const pids = await servedBy(gateway, "counted", 20);
    // Two processes served, neither of them the primary: each a worker of this gateway.
    expect([...pids.keys()].sort()).toEqual(childPids(primary).sort());
    expect(pids.has(primary)).toBe(false);
    for (const served of pids.values()) expect(served).toBeLessThan(20);

    // Whichever worker takes the scrape, the figure is the sum over both.
    for (let scrape = 0; scrape < 4; scrape++) {
      const metrics = await httpRequest(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.body).not.toContain("figures only");
      expect(metricSum(metrics.body, "gateway_requests_total", { route: "counted" })).toBe(20);
      expect(metricSum(metrics.body, "gateway_requests_total", { route: "counted", status: "200" })).toBe(20);
    }
    expect(upstream.requests.filter((request) => request.url === "/counted")).toHaveLength(20);
  });

  it("reloads the route table in both workers on SIGHUP to the primary", async () => {
    expect((await httpRequest(`${url}/added`)).status).toBe(404);
    writeRoutes(["  - { name: added, methods: [GET], path: /added, upstream: legacy, auth: none }"]);
    process.kill(primary, "SIGHUP");
    // Ten requests in a row on new connections reach both workers: all must see the new route.
    await waitFor(async () => (await sequential(url, "/added", 10)).every((status) => status === 200), 10_000, "/added served by every worker");
    const pids = await servedBy(gateway, "added", 10);
    expect([...pids.keys()].sort()).toEqual(childPids(primary).sort());
    const reloaded = logEntries(gateway.output().stdout).filter((entry) => entry.msg === "route table reloaded");
    expect(new Set(reloaded.map((entry) => entry.pid))).toEqual(new Set(childPids(primary)));
    expect(gateway.output().stderr).not.toContain("refused");
  });

  it("reports a bad route file once on SIGHUP, and both workers keep the table they have", async () => {
    // Without /added, and with one mistake: applied anywhere, /added would answer 404 there.
    writeRoutes(["  - { name: broken, methods: [GET], path: /broken, upstream: billing, auth: none }"]);
    process.kill(primary, "SIGHUP");
    await waitFor(() => gateway.output().stderr.includes("reload refused"), 5_000, "the refusal line");
    expect(await sequential(url, "/added", 10)).toEqual(Array(10).fill(200));
    expect(await sequential(url, "/broken", 4)).toEqual(Array(4).fill(404));

    // A good file next: once both workers have reloaded it, any line about the bad one is out.
    writeRoutes([
      "  - { name: added, methods: [GET], path: /added, upstream: legacy, auth: none }",
      "  - { name: again, methods: [GET], path: /again, upstream: legacy, auth: none }",
    ]);
    process.kill(primary, "SIGHUP");
    await waitFor(async () => (await sequential(url, "/again", 10)).every((status) => status === 200), 10_000, "/again served by every worker");
    await waitFor(() => logEntries(gateway.output().stdout).filter((entry) => entry.msg === "route table reloaded").length >= 4, 5_000, "both workers' second reload line");
    const refused = gateway.output().stderr.split("\n").filter((line) => line.includes("reload refused"));
    expect(refused).toEqual([`gateway: route table reload refused: ${routeFile}: routes[2].upstream: "billing" is not a declared upstream (legacy, stuck)`]);
    expect(logEntries(gateway.output().stdout).filter((entry) => String(entry.msg).includes("refused"))).toEqual([]);
  });

  it("replaces a worker killed under a steady stream of requests, losing none but those it held", async () => {
    const [victim, survivor] = childPids(primary);
    const CONCURRENCY = 3;
    let stop = false;
    let failures = 0;
    const otherStatuses: number[] = [];
    let served = 0;
    let servedAfterKill = 0;
    let killed = false;
    const loop = async () => {
      while (!stop) {
        try {
          const { status } = await httpRequest(`${url}/counted`, { timeoutMs: 5_000 });
          if (status !== 200) otherStatuses.push(status);
          served += 1;
          if (killed) servedAfterKill += 1;
        } catch {
          failures += 1;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const loops = Array.from({ length: CONCURRENCY }, loop);
    await waitFor(() => served >= 30, 10_000, "a steady stream");
    process.kill(victim!, "SIGKILL");
    killed = true;

    // The primary says what happened and starts another worker after its backoff.
    await waitFor(() => gateway.output().stderr.includes(`worker ${victim} died (signal SIGKILL)`), 5_000, "the line naming the cause");
    await waitFor(() => childPids(primary).length === 2 && !childPids(primary).includes(victim!), 15_000, "a replacement worker");
    const replacement = childPids(primary).find((pid) => pid !== survivor)!;
    // The replacement takes its share of the stream.
    await waitFor(() => accessLines(gateway.output().stdout, "counted").some((line) => line.pid === replacement), 15_000, "requests served by the replacement");
    stop = true;
    await Promise.all(loops);

    // At most one request per client was in flight when the worker died: only those may fail.
    expect(failures).toBeLessThanOrEqual(CONCURRENCY);
    expect(otherStatuses).toEqual([]);
    expect(servedAfterKill).toBeGreaterThan(0);
    expect(gateway.output().stderr).toContain(`gateway: worker ${victim} died (signal SIGKILL); starting another in 1 s`);
    expect(gateway.output().stdout.match(/gateway listening on/g)).toHaveLength(1);
  });

  it("drains both workers on SIGTERM within SHUTDOWN_TIMEOUT_S and exits 0", async () => {
    upstream.delayMs = 500;
    const forwardedBefore = upstream.requests.length;
    const finishing = httpRequest(`${url}/counted`, { timeoutMs: 20_000 });
    const held = httpRequest(`${url}/stuck`, { timeoutMs: 20_000 }).then(() => "answered", () => "closed");
    await waitFor(() => stuckSockets.size >= 1 && upstream.requests.length > forwardedBefore, 5_000, "both requests in flight");
    const sentAt = Date.now();
    process.kill(primary, "SIGTERM");
    // The one the upstream answers in time is answered; the one it never answers is cut at the deadline.
    expect((await finishing).status).toBe(200);
    expect(await held).toBe("closed");
    expect(await gateway.exited).toBe(0);
    upstream.delayMs = 0;
    const tookS = (Date.now() - sentAt) / 1000;
    // The workers closed their own connections at the deadline; the primary's SIGKILL comes 5 s after it.
    expect(tookS).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_S - 0.5);
    expect(tookS).toBeLessThan(SHUTDOWN_TIMEOUT_S + 5);
    expect(gateway.output().stderr).toContain(`requests still in flight after SHUTDOWN_TIMEOUT_S=${SHUTDOWN_TIMEOUT_S}; closing their connections`);
    expect(childPids(primary)).toEqual([]);
  });
});

describe("starting with workers", { timeout: 60_000 }, () => {
  it("stops the whole gateway with one line and exit 1 when a worker cannot listen (port taken)", async () => {
    const holder = createNetServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const gateway = startGatewayProcess({ ...env, GATEWAY_WORKERS: "2", GATEWAY_PORT: String(port), LOG_LEVEL: "warn" });
      expect(await gateway.exited).toBe(1);
      expect(gateway.output().stderr.trim().split("\n")).toEqual([`gateway: cannot listen on 127.0.0.1:${port}: the port is in use (GATEWAY_PORT)`]);
      expect(gateway.output().stdout).not.toContain("listening");
      expect(childPids(gateway.child.pid!)).toEqual([]);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it.each(["0", "-1", "abc", "2.5"])("refuses GATEWAY_WORKERS=%s with one line naming it, before anything listens", async (value) => {
    const gateway = startGatewayProcess({ ...env, GATEWAY_WORKERS: value });
    expect(await gateway.exited).toBe(1);
    const lines = gateway.output().stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^gateway: configuration error: GATEWAY_WORKERS: /);
    expect(gateway.output().stdout).toBe("");
  });

  it("accepts GATEWAY_WORKERS=auto: one worker per available core", async () => {
    const gateway = startGatewayProcess({ ...env, GATEWAY_WORKERS: "auto", LOG_LEVEL: "warn" });
    try {
      const url = await gateway.listening;
      const cores = availableParallelism();
      if (cores > 1) expect(gateway.output().stdout).toContain(`(${cores} workers)`);
      expect(childPids(gateway.child.pid!)).toHaveLength(cores > 1 ? cores : 0);
      expect((await httpRequest(`${url}/healthz`)).status).toBe(200);
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  });
});

/**
 * A JWKS that holds its answers until released: a worker waits for its keys before it
 * listens, so while the JWKS is held every worker is started but not yet listening.
 */
class HeldJwks {
  private server: HttpServer | undefined;
  private waiting: (() => void)[] = [];
  private released = false;
  asked = 0;
  url = "";

  constructor(private readonly inner: JwksServer) {}

  async start(): Promise<this> {
    this.server = createHttpServer((req, res) => {
      this.asked += 1;
      const answer = () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: this.inner.keys }));
      if (this.released) answer();
      else this.waiting.push(answer);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks`;
    return this;
  }

  release(): void {
    this.released = true;
    for (const answer of this.waiting.splice(0)) answer();
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

describe("workers that are not listening yet", { timeout: 60_000 }, () => {
  it("stops the gateway with one line when a worker dies before it listens, instead of waiting forever", async () => {
    const held = await new HeldJwks(jwks).start();
    const gateway = startGatewayProcess({ ...env, JWKS_URL: held.url, GATEWAY_WORKERS: "2", LOG_LEVEL: "warn" });
    try {
      await waitFor(() => held.asked >= 2, 15_000, "both workers waiting for their keys");
      const [victim] = childPids(gateway.child.pid!);
      process.kill(victim!, "SIGKILL");
      held.release();
      expect(await Promise.race([gateway.exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 10_000))])).toBe(1);
      expect(gateway.output().stderr.trim().split("\n")).toEqual([`gateway: worker ${victim} stopped before it listened (signal SIGKILL)`]);
      expect(gateway.output().stdout).not.toContain("listening");
    } finally {
      if (gateway.alive()) await gateway.stop("SIGKILL");
      await held.stop();
    }
  });

  it("hands a SIGHUP that arrives while workers start to each of them once it listens, instead of killing it", async () => {
    writeRoutes();
    const held = await new HeldJwks(jwks).start();
    const gateway = startGatewayProcess({ ...env, JWKS_URL: held.url, GATEWAY_WORKERS: "2" });
    try {
      await waitFor(() => held.asked >= 2, 15_000, "both workers waiting for their keys");
      // Both workers have read the table; the new one must still reach them.
      writeRoutes(["  - { name: late, methods: [GET], path: /late, upstream: legacy, auth: none }"]);
      process.kill(gateway.child.pid!, "SIGHUP");
      await new Promise((resolve) => setTimeout(resolve, 200));
      held.release();
      const url = await gateway.listening;
      await waitFor(async () => (await sequential(url, "/late", 10)).every((status) => status === 200), 10_000, "/late served by every worker");
      expect(gateway.output().stderr).not.toContain("died");
      expect(childPids(gateway.child.pid!)).toHaveLength(2);
    } finally {
      if (gateway.alive()) await gateway.stop();
      await held.stop();
      writeRoutes();
    }
  });
});
