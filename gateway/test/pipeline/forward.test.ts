import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startFixture, refusal, type Fixture } from "../helpers/fixture.ts";

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

async function freePortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe("upstream failures", () => {
  it("answers 502 problem+json when the upstream refuses connections", async () => {
    fx = await startFixture({ LEGACY_API_URL: await freePortUrl() });
    const r = await refusal(await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: await fx.bearer() }));
    expect(r.status).toBe(502);
    expect(r.contentType).toBe("application/problem+json");
    expect(r.body).toMatchObject({ status: 502, title: "Bad gateway", detail: "the legacy upstream could not be reached" });
  });

  it("answers 502 when the upstream resets the connection", async () => {
    const resetter = createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => resetter.listen(0, "127.0.0.1", resolve));
    try {
      fx = await startFixture({ LEGACY_API_URL: `http://127.0.0.1:${(resetter.address() as AddressInfo).port}` });
      const response = await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: await fx.bearer() });
      expect(response.status).toBe(502);
    } finally {
      resetter.close();
    }
  });

  it("answers 504 when the upstream does not answer within UPSTREAM_TIMEOUT_MS", async () => {
    fx = await startFixture({ UPSTREAM_TIMEOUT_MS: "300" });
    fx.upstream.delayMs = 2_000;
    const started = Date.now();
    const r = await refusal(await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: await fx.bearer() }));
    expect(r.status).toBe(504);
    expect(r.body.detail).toBe("the legacy upstream did not answer within 300 ms");
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});

describe("pass-through", () => {
  it("passes the upstream's own status, headers and body through unchanged", async () => {
    fx = await startFixture();
    fx.upstream.status = 418;
    const response = await fetch(`${fx.gateway.url}/api/user-1/tasks/9`, { headers: await fx.bearer() });
    expect(response.status).toBe(418);
    expect(response.headers.get("x-upstream")).toBe("recording");
    expect(await response.json()).toEqual({ received: { method: "GET", url: "/api/user-1/tasks/9" } });
  });

  it("forwards Authorization by default and strips it with STRIP_AUTHORIZATION=true", async () => {
    fx = await startFixture();
    await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: await fx.bearer() });
    expect(fx.upstream.last!.headers.authorization).toMatch(/^Bearer /);
    await fx.close();
    fx = await startFixture({ STRIP_AUTHORIZATION: "true" });
    await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: await fx.bearer() });
    expect(fx.upstream.last!.headers.authorization).toBeUndefined();
    expect(fx.upstream.last!.headers["x-user-id"]).toBe("user-1");
  });

  it("reuses upstream connections (keep-alive pool)", async () => {
    fx = await startFixture();
    const headers = await fx.bearer();
    for (let i = 0; i < 5; i++) await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers });
    const ports = new Set(fx.upstream.requests.slice(-5).map((r) => r.headers.connection));
    expect(ports).toEqual(new Set(["keep-alive"]));
  });

  it("proxies /api/auth/* to the auth-service with any method and no token", async () => {
    fx = await startFixture();
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
      const response = await fetch(`${fx.gateway.url}/api/auth/sign-in/email?x=1`, { method, body: method === "GET" ? undefined : "{}" });
      expect(response.status).toBe(200);
      expect(fx.upstream.last).toMatchObject({ method, url: "/api/auth/sign-in/email?x=1" });
    }
  });
});

describe("answers without a body", () => {
  it("passes a HEAD answer's Content-Length through, with no body", async () => {
    fx = await startFixture();
    fx.upstream.responseBody = '{"session":null}';
    const get = await fetch(`${fx.gateway.url}/api/auth/session`);
    const length = get.headers.get("content-length");
    expect(Number(length)).toBeGreaterThan(0);
    const head = await fetch(`${fx.gateway.url}/api/auth/session`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(length);
    expect(await head.text()).toBe("");
  });

  it("relays large and unsized answers unchanged", async () => {
    fx = await startFixture();
    const headers = await fx.bearer();
    for (const [size, chunked] of [[200_000, false], [70_000, true], [10, true]] as const) {
      fx.upstream.responseBody = "y".repeat(size);
      fx.upstream.chunked = chunked;
      const response = await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-length")).toBe(chunked ? null : String(size));
      expect((await response.text()).length).toBe(size);
    }
  });
});

describe("odd upstream answers and credentials", () => {
  it("answers 502 when the upstream's status is not an HTTP status", async () => {
    const { createServer: createTcpServer } = await import("node:net");
    const weird = createTcpServer((socket) => socket.once("data", () => socket.end("HTTP/1.1 600 Weird\r\nContent-Length: 2\r\n\r\nok")));
    await new Promise<void>((resolve) => weird.listen(0, "127.0.0.1", resolve));
    try {
      fx = await startFixture({ LEGACY_API_URL: `http://127.0.0.1:${(weird.address() as AddressInfo).port}` });
      const r = await refusal(await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: await fx.bearer() }));
      expect(r.status).toBe(502);
      expect(r.body.detail).toBe("the legacy upstream answered with an invalid status");
    } finally {
      weird.close();
    }
  });

  it("always forwards Authorization to the auth-service, even with STRIP_AUTHORIZATION=true", async () => {
    fx = await startFixture({ STRIP_AUTHORIZATION: "true" });
    await fetch(`${fx.gateway.url}/api/auth/token`, { headers: { authorization: "Bearer session-token" } });
    expect(fx.upstream.last!.headers.authorization).toBe("Bearer session-token");
    await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: await fx.bearer() });
    expect(fx.upstream.last!.headers.authorization).toBeUndefined();
  });
});
