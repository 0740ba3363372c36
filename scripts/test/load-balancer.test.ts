/**
 * deploy/haproxy.cfg and deploy/haproxy-auth.cfg, run: Debian's HAProxy with the files
 * docker-compose.yml mounts, changed only where this machine differs from the compose network
 * (loopback ports instead of Docker's DNS, a faster check interval), in front of two HTTP
 * servers standing in for the replicas. They answer their health check as told and record what
 * reaches them, which is what these tests are about: what a client can make the load balancer
 * forward to the gateway (which believes its X-Forwarded-* headers), and that traffic follows
 * the health checks.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findHaproxy, requireTool } from "./helpers/deploy.ts";
import { ROOT, freePort } from "./helpers/stack.ts";

const haproxy = findHaproxy();
const available = requireTool(haproxy !== undefined, "haproxy (Debian's package) is not installed: the load balancer cannot be run");

interface Received { readonly replica: string; readonly method: string; readonly path: string; readonly headers: IncomingHttpHeaders }

/** What reached any replica, in order of arrival. */
const arrivals: Received[] = [];

/** A stand-in replica: its health path answers as `ready` says; anything else 200 with its name. */
class Replica {
  ready = true;
  readonly received: Received[] = [];
  private readonly server: Server;

  constructor(readonly name: string, readonly healthPath = "/readyz") {
    this.server = createServer((req, res) => {
      const received = { replica: name, method: req.method ?? "", path: req.url ?? "", headers: req.headers };
      this.received.push(received);
      arrivals.push(received);
      const status = req.url === healthPath && !this.ready ? 503 : 200;
      res.writeHead(status, { "content-type": "text/plain" }).end(this.name);
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as AddressInfo).port;
  }

  requests(): Received[] {
    return this.received.filter((r) => r.path !== this.healthPath);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * deploy/<file> with each `[from, to]` applied; every `from` must occur exactly once, so a
 * change to the file that these tests no longer fit fails loudly instead of testing something else.
 */
function localConfig(file: string, replacements: readonly [string | RegExp, string][]): string {
  let cfg = readFileSync(join(ROOT, "deploy", file), "utf8");
  const shared: [string | RegExp, string][] = [
    [" resolvers docker resolve-prefer ipv4 init-addr none", ""],
    ["check inter 2s fall 2 rise 2", "check inter 100ms fall 2 rise 2"],
  ];
  for (const [from, to] of [...replacements, ...shared]) {
    const count = typeof from === "string" ? cfg.split(from).length - 1 : [...cfg.matchAll(new RegExp(from, "gm"))].length;
    if (count !== 1) throw new Error(`deploy/${file}: expected ${String(from)} once, found it ${count} times`);
    cfg = cfg.replace(from, to);
  }
  return cfg;
}

/** Runs HAProxy in the foreground on `cfg`; its log lines (stdout) and messages go to `output`. */
function runHaproxy(dir: string, cfg: string): { process: ChildProcess; output: () => string; stop: () => Promise<void> } {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.cfg`);
  writeFileSync(file, cfg);
  const child = spawn(haproxy!, ["-db", "-f", file], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return {
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

interface Answer { readonly status: number; readonly body: string }

function get(port: number, path: string, headers: Record<string, string | string[]> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { connection: "close", ...headers }, timeout: 5_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk)).on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path}: no answer within 5 s`))).on("error", reject).end();
  });
}

/** Polls `check` until it holds; fails with `what` after 20 s (health checks need a few rounds). */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within 20 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const dir = mkdtempSync(join(tmpdir(), "load-balancer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!available)("deploy/haproxy.cfg, run in front of two gateway replicas", () => {
  const replicas = [new Replica("gateway-a"), new Replica("gateway-b")];
  const [a, b] = replicas as [Replica, Replica];
  let lb: ReturnType<typeof runHaproxy>;
  let port = 0;
  let healthPort = 0;

  /** Which replica answered each of `count` requests. */
  async function spread(count: number): Promise<string[]> {
    const names: string[] = [];
    for (let i = 0; i < count; i++) names.push((await get(port, "/api/u/tasks")).body);
    return names;
  }

  beforeAll(async () => {
    const replicaPorts = await Promise.all(replicas.map((replica) => replica.start()));
    [port, healthPort] = [await freePort(), await freePort()];
    lb = runHaproxy(dir, localConfig("haproxy.cfg", [
      [/^ {2}bind :8080$/m, `  bind 127.0.0.1:${port}`],
      [/^ {2}bind 127\.0\.0\.1:8404$/m, `  bind 127.0.0.1:${healthPort}`],
      [/^ {2}server-template gateway \d+ gateway:8080$/m, replicaPorts.map((p, i) => `  server gateway${i + 1} 127.0.0.1:${p}`).join("\n")],
    ]));
    await eventually("both replicas in service", async () => new Set(await spread(4).catch(() => [])).size === 2);
  }, 30_000);

  afterAll(async () => {
    await lb?.stop();
    await Promise.all(replicas.map((replica) => replica.close()));
  });

  it("replaces every forwarding header a client sends with its own", async () => {
    const before = arrivals.length;
    await get(port, "/api/u/tasks?spoof", {
      host: "todo.example:8080",
      "x-forwarded-for": ["203.0.113.7", "198.51.100.1"],
      "x-forwarded-proto": "https",
      "x-forwarded-host": "evil.example",
      "x-forwarded-port": "443",
      forwarded: "for=203.0.113.7;proto=https",
      "x-real-ip": "203.0.113.7",
    });
    const seen = arrivals.slice(before).find((r) => r.path === "/api/u/tasks?spoof");
    expect(seen?.headers).toMatchObject({
      host: "todo.example:8080", "x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http", "x-forwarded-host": "todo.example:8080",
    });
    for (const name of ["forwarded", "x-forwarded-port", "x-real-ip"]) expect(seen?.headers[name], name).toBeUndefined();
  });

  it("spreads requests over every ready replica", async () => {
    expect(new Set(await spread(6))).toEqual(new Set(["gateway-a", "gateway-b"]));
  });

  it("health-checks each replica with GET /readyz and a Host header", () => {
    const checks = a.received.filter((r) => r.path === "/readyz");
    expect(checks.length).toBeGreaterThan(0);
    expect(checks[0]).toMatchObject({ method: "GET", headers: { host: "gateway" } });
  });

  it("sends nothing to a replica whose /readyz fails, and takes it back once it passes", async () => {
    b.ready = false;
    await eventually("gateway-b out of service", async () => (await spread(6)).every((name) => name === "gateway-a"));
    const sentToB = b.requests().length;
    await spread(6);
    expect(b.requests().length).toBe(sentToB);
    b.ready = true;
    await eventually("gateway-b back in service", async () => (await spread(4)).includes("gateway-b"));
  });

  it("answers 503 itself and reports itself unhealthy while no replica is ready", async () => {
    expect((await get(healthPort, "/healthz")).status).toBe(200);
    a.ready = false;
    b.ready = false;
    await eventually("the monitor reporting no replica", async () => (await get(healthPort, "/healthz")).status === 503);
    expect((await get(port, "/api/u/tasks")).status).toBe(503);
    a.ready = true;
    b.ready = true;
    await eventually("the monitor reporting replicas again", async () => (await get(healthPort, "/healthz")).status === 200);
    await eventually("both replicas in service", async () => new Set(await spread(4)).size === 2);
  });

  it("logs each request's path and never its query string", async () => {
    await get(port, "/api/auth/verify-email?token=query-secret-4f1c&callbackURL=%2F");
    await eventually("the request's log line", async () => lb.output().includes("/api/auth/verify-email"));
    const line = lb.output().split("\n").find((entry) => entry.includes("/api/auth/verify-email"))!;
    expect(line).toMatch(/ 200 .*"GET \/api\/auth\/verify-email HTTP\/1\.1"$/);
    expect(lb.output()).not.toContain("query-secret-4f1c");
  });
});

describe.skipIf(!available)("deploy/haproxy-auth.cfg, run in front of two auth-service replicas", () => {
  const replicas = [new Replica("auth-service-1", "/healthz"), new Replica("auth-service-2", "/healthz")];
  const [first, second] = replicas as [Replica, Replica];
  let lb: ReturnType<typeof runHaproxy>;
  let port = 0;

  async function spread(count: number): Promise<string[]> {
    const names: string[] = [];
    for (let i = 0; i < count; i++) names.push((await get(port, "/api/auth/get-session")).body);
    return names;
  }

  beforeAll(async () => {
    const [one, two] = await Promise.all(replicas.map((replica) => replica.start()));
    port = await freePort();
    lb = runHaproxy(dir, localConfig("haproxy-auth.cfg", [
      [/^ {2}bind :3001$/m, `  bind 127.0.0.1:${port}`],
      [/^ {2}bind 127\.0\.0\.1:8404$/m, `  bind 127.0.0.1:${await freePort()}`],
      [/^ {2}server auth-service-1 auth-service-1:3001$/m, `  server auth-service-1 127.0.0.1:${one}`],
      [/^ {2}server auth-service-2 auth-service-2:3001$/m, `  server auth-service-2 127.0.0.1:${two}`],
    ]));
    await eventually("both replicas in service", async () => new Set(await spread(4).catch(() => [])).size === 2);
  }, 30_000);

  afterAll(async () => {
    await lb?.stop();
    await Promise.all(replicas.map((replica) => replica.close()));
  });

  it("passes on the client address the gateway wrote, adding nothing (the auth-service throttles by it)", async () => {
    const before = arrivals.length;
    await get(port, "/api/auth/sign-in/email?xff", { "x-forwarded-for": "203.0.113.7, 10.213.13.10", "x-real-ip": "203.0.113.7" });
    const seen = arrivals.slice(before).find((r) => r.path === "/api/auth/sign-in/email?xff");
    expect(seen?.headers).toMatchObject({ "x-forwarded-for": "203.0.113.7, 10.213.13.10", "x-real-ip": "203.0.113.7" });
  });

  it("sends nothing to a replica whose /healthz fails, and takes it back once it passes", async () => {
    second.ready = false;
    await eventually("auth-service-2 out of service", async () => (await spread(6)).every((name) => name === "auth-service-1"));
    second.ready = true;
    await eventually("auth-service-2 back in service", async () => (await spread(4)).includes("auth-service-2"));
    expect(first.received.some((r) => r.path === "/healthz" && r.headers.host === "auth-lb")).toBe(true);
  });
});
