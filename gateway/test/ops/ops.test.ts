import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/fixture.ts";
import { startGateway } from "../helpers/gateway.ts";

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe("health and readiness", () => {
  it("answers /healthz with 200", async () => {
    fx = await startFixture();
    const response = await fetch(`${fx.gateway.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("answers /readyz with 200 when keys are loaded and upstreams answer", async () => {
    fx = await startFixture();
    const response = await fetch(`${fx.gateway.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ready", checks: { keys: "ok", "upstream:legacy": "ok", "upstream:auth": "ok" } });
  });

  it("answers /readyz with 503 naming the task upstream when it does not answer", async () => {
    fx = await startFixture({ LEGACY_API_URL: "http://127.0.0.1:1" });
    const response = await fetch(`${fx.gateway.url}/readyz`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { detail: string; checks: Record<string, string> };
    expect(body.detail).toContain("upstream legacy not answering");
    expect(body.detail).not.toContain("auth");
    expect(body.checks).toMatchObject({ keys: "ok", "upstream:legacy": "missing", "upstream:auth": "ok" });
  });
});

describe("readiness means: can serve protected traffic", () => {
  it("stays ready while the auth-service is down, and reports it in checks and a metric", async () => {
    fx = await startFixture({ AUTH_SERVICE_URL: "http://127.0.0.1:1" });
    const response = await fetch(`${fx.gateway.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ready", checks: { keys: "ok", "upstream:legacy": "ok", "upstream:auth": "missing", load: "ok" } });
    const metrics = await (await fetch(`${fx.gateway.url}/metrics`)).text();
    expect(metrics).toContain('gateway_upstream_up{upstream="auth"} 0');
    expect(metrics).toContain('gateway_upstream_up{upstream="legacy"} 1');
    // And the protected routes it is ready for do work.
    expect((await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: await fx.bearer() })).status).toBe(200);
  });

  it("probes upstreams at most once a second, however often it is asked", async () => {
    fx = await startFixture();
    const probes = () => fx!.upstream.requests.filter((request) => request.url === "/").length;
    const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${fx!.gateway.url}/readyz`).then((r) => r.status)));
    expect(answers.every((status) => status === 200)).toBe(true);
    // Both upstreams are the one recorder here: one probe each.
    expect(probes()).toBe(2);
    for (let i = 0; i < 10; i++) await fetch(`${fx.gateway.url}/readyz`);
    expect(probes()).toBeLessThanOrEqual(4);
  });
});

describe("metrics", () => {
  it("exposes request counts, refusals, JWKS fetches, cache figures and a latency histogram", async () => {
    fx = await startFixture();
    const headers = await fx.bearer();
    await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers });
    await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers });
    await fetch(`${fx.gateway.url}/api/user-2/tasks`, { headers });
    await fetch(`${fx.gateway.url}/api/user-1/tasks`);
    const response = await fetch(`${fx.gateway.url}/metrics`);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('gateway_requests_total{route="tasks.list",status="200"} 2');
    expect(text).toContain('gateway_requests_total{route="tasks.list",status="403"} 1');
    expect(text).toContain('gateway_refusals_total{reason="forbidden"} 1');
    expect(text).toContain('gateway_refusals_total{reason="missing_token"} 1');
    expect(text).toContain('gateway_jwks_fetches_total{result="success"} 1');
    expect(text).toContain("gateway_token_cache_hits_total 2");
    expect(text).toContain("gateway_token_cache_misses_total 1");
    expect(text).toMatch(/gateway_request_duration_seconds_bucket\{(le="\+Inf",route="tasks.list"|route="tasks.list",le="\+Inf")\} 4/);
    expect(text).toContain("# TYPE gateway_request_duration_seconds histogram");
  });
});

/** A gateway in front of the fixture that logs at `level` into `lines`. */
async function startLoggingGateway(level: string) {
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
  fx = await startFixture();
  const gateway = await startGateway(
    { JWKS_URL: fx.jwks.url, LEGACY_API_URL: fx.upstream.url, AUTH_SERVICE_URL: fx.upstream.url, LOG_LEVEL: level },
    { logger: true, logStream: stream },
  );
  return { url: gateway.url, lines, close: () => gateway.close() };
}

describe("logs", () => {
  it("writes one JSON line per request and never a token, cookie or set-cookie", async () => {
    const { url, lines, close } = await startLoggingGateway("trace");
    const token = await fx!.token("user-1");
    try {
      await fetch(`${url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${token}`, cookie: "session=s3cr3t", "x-request-id": "log-test-1" } });
      await fetch(`${url}/api/user-2/tasks`, { headers: { authorization: `Bearer ${token}`, "x-request-id": "log-test-2" } });
      await fetch(`${url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${token}x`, "x-request-id": "log-test-3" } });
    } finally {
      await close();
    }
    const requestLines = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === "request");
    expect(requestLines).toHaveLength(3);
    expect(requestLines[0]).toMatchObject({ reqId: "log-test-1", method: "GET", route: "tasks.list", status: 200, client: "127.0.0.1", sub: "user-1", granted: true });
    expect(requestLines[1]).toMatchObject({ reqId: "log-test-2", status: 403, granted: false, reason: "forbidden", sub: "user-1" });
    expect(requestLines[2]).toMatchObject({ reqId: "log-test-3", status: 401, granted: false, reason: "invalid_token" });
    expect(typeof requestLines[0]!.ms).toBe("number");
    const all = lines.join("\n");
    expect(lines.every((line) => typeof JSON.parse(line) === "object")).toBe(true);
    for (const secret of [token.split(".")[1]!, token.split(".")[2]!, "s3cr3t"]) expect(all).not.toContain(secret);
  });
});

describe("the request line with a hostile sub", () => {
  it("stays one valid JSON line whatever the token's sub contains", async () => {
    const { url, lines, close } = await startLoggingGateway("info");
    const sub = 'evil"},{"level":60,"msg":"forged';
    try {
      const token = await fx!.token(sub);
      const response = await fetch(`${url}/api/${encodeURIComponent(sub)}/tasks`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
    } finally {
      await close();
    }
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.filter((entry) => entry.msg === "request")).toHaveLength(1);
    expect(entries.find((entry) => entry.msg === "request")!.sub).toBe(sub);
    expect(entries.some((entry) => entry.level === 60)).toBe(false);
  });
});
