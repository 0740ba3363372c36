import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, refusal, type Fixture } from "../helpers/fixture.ts";

const ALLOWED = "http://app.example.test:5173";
let fx: Fixture;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "web-client-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), "<!doctype html><title>Todo</title>");
  writeFileSync(join(dir, "assets", "app-3f9a1c2b.js"), "console.log('app')");
  fx = await startFixture({ WEB_CLIENT_DIR: dir, CORS_ORIGINS: `${ALLOWED}, http://other.example.test` });
});
afterAll(async () => {
  await fx.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the web client route", () => {
  it("redirects / and /app to /app/", async () => {
    for (const path of ["/", "/app"]) {
      const response = await fetch(`${fx.gateway.url}${path}`, { redirect: "manual" });
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/app/");
    }
  });

  it("serves the index with security headers and no token", async () => {
    const response = await fetch(`${fx.gateway.url}/app/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-cache");
    expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    // The page talks to its own origin only: an injected script cannot send a token elsewhere.
    const directives = response.headers.get("content-security-policy")!.split(";").map((d) => d.trim());
    expect(directives.find((d) => d.startsWith("connect-src"))).toBe("connect-src 'self'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await response.text()).toContain("<title>Todo</title>");
  });

  it("serves fingerprinted assets as immutable and answers 304 to a matching ETag", async () => {
    const response = await fetch(`${fx.gateway.url}/app/assets/app-3f9a1c2b.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const again = await fetch(`${fx.gateway.url}/app/assets/app-3f9a1c2b.js`, { headers: { "if-none-match": response.headers.get("etag")! } });
    expect(again.status).toBe(304);
  });

  it("answers 404 for files it does not have, and never reads outside the folder", async () => {
    for (const path of ["/app/missing.js", "/app/assets/", "/app/..%2f..%2fetc/passwd", "/app/%2e%2e/package.json"]) {
      const response = await fetch(`${fx.gateway.url}${path}`);
      expect([400, 404]).toContain(response.status);
    }
    expect(fx.forwarded()).toBe(0);
  });

  it("accepts only GET and HEAD", async () => {
    const response = await fetch(`${fx.gateway.url}/app/`, { method: "POST" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("CORS", () => {
  it("answers a preflight from a listed origin itself, without a token, and forwards nothing", async () => {
    const before = fx.forwarded();
    const response = await fetch(`${fx.gateway.url}/api/user-1/tasks`, {
      method: "OPTIONS",
      headers: { origin: ALLOWED, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    expect(response.headers.get("access-control-allow-methods")).toBe("POST");
    expect(response.headers.get("access-control-allow-headers")).toContain("Authorization");
    expect(fx.forwarded()).toBe(before);
  });

  it("answers preflights for the auth-service too, never proxying them", async () => {
    const before = fx.forwarded();
    const response = await fetch(`${fx.gateway.url}/api/auth/sign-in/email`, {
      method: "OPTIONS", headers: { origin: ALLOWED, "access-control-request-method": "POST" },
    });
    expect(response.status).toBe(204);
    expect(fx.forwarded()).toBe(before);
  });

  it("refuses a preflight from an unlisted origin, with no CORS headers", async () => {
    const response = await fetch(`${fx.gateway.url}/api/user-1/tasks`, {
      method: "OPTIONS", headers: { origin: "http://evil.test", "access-control-request-method": "GET" },
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers a preflight for a method the path does not take with 405", async () => {
    const response = await fetch(`${fx.gateway.url}/api/user-1/tasks`, {
      method: "OPTIONS", headers: { origin: ALLOWED, "access-control-request-method": "DELETE" },
    });
    expect(response.status).toBe(405);
  });

  it("lets a listed origin read answers and refusals, exposing X-Request-Id", async () => {
    const ok = await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: { origin: ALLOWED, ...(await fx.bearer()) } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(ok.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
    expect(ok.headers.get("vary")).toContain("Origin");
    const denied = await refusal(await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: { origin: ALLOWED } }));
    expect(denied.status).toBe(401);
  });

  it("gives an unlisted origin no CORS headers, and still authenticates", async () => {
    const response = await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: { origin: "http://evil.test" } });
    expect(response.status).toBe(401);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("keeps Vary: Origin beside the upstream's own Vary, so a shared cache never mixes origins", async () => {
    fx.upstream.responseHeaders = { vary: "Accept-Encoding" };
    try {
      const response = await fetch(`${fx.gateway.url}/api/auth/get-session`, { headers: { origin: ALLOWED } });
      expect(response.headers.get("vary")).toBe("Origin, Accept-Encoding");
    } finally {
      fx.upstream.responseHeaders = {};
    }
  });

  it("drops the upstream's own CORS headers", async () => {
    fx.upstream.responseHeaders = { "access-control-allow-origin": "*", "access-control-allow-credentials": "true" };
    try {
      const listed = await fetch(`${fx.gateway.url}/api/auth/ok`, { headers: { origin: ALLOWED } });
      expect(listed.headers.get("access-control-allow-origin")).toBe(ALLOWED);
      const unlisted = await fetch(`${fx.gateway.url}/api/auth/ok`, { headers: { origin: "http://evil.test" } });
      expect(unlisted.status).toBe(200);
      expect(unlisted.headers.get("access-control-allow-origin")).toBeNull();
      expect(unlisted.headers.get("access-control-allow-credentials")).toBeNull();
    } finally {
      fx.upstream.responseHeaders = {};
    }
  });
});
