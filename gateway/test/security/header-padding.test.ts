/**
 * Attack: hide the caller's identity from the upstream behind padding. A Node upstream keeps
 * only its first 2,000 header lines and drops the rest silently; with the gateway's own headers
 * appended after the client's, ~1,100 tiny client headers pushed `X-User-Id`, `X-Forwarded-*`
 * and a minted `Authorization` out of what it reads: it saw no caller at all. Now a request
 * with more than MAX_HEADER_COUNT (100) lines gets 431, as Envoy (100) and HAProxy (101) cap
 * them, and the gateway's headers are written first, before any client header.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/fixture.ts";
import { startGateway } from "../helpers/gateway.ts";
import { rawGet, sendRaw } from "../helpers/raw-http.ts";

let fx: Fixture;
let auth: string;
beforeAll(async () => {
  fx = await startFixture();
  auth = `Authorization: Bearer ${await fx.token("alice")}`;
});
afterAll(() => fx.close());

const padding = (count: number) => Array.from({ length: count }, (_, i) => `p${i}: x`);

describe("header count", () => {
  it.each([[101], [1100], [5000]])("refuses %i client header lines with 431 problem+json and forwards nothing", async (count) => {
    const before = fx.forwarded();
    const response = await sendRaw(fx.gateway.port, rawGet("/api/alice/tasks", [auth, ...padding(count)]));
    expect(response.status).toBe(431);
    expect(response.headers["content-type"]).toBe("application/problem+json");
    // Past Node's 16 KiB header block the parser refuses first; either way: 431.
    expect(JSON.parse(response.body).detail).toMatch(/^(more than 100 header fields|the request headers are too large)$/);
    expect(fx.forwarded()).toBe(before);
  });

  it("accepts exactly 100 lines", async () => {
    // Host, Connection and Authorization are three of them.
    const response = await sendRaw(fx.gateway.port, rawGet("/api/alice/tasks", [auth, ...padding(97)]));
    expect(response.status).toBe(200);
  });

  it("honours MAX_HEADER_COUNT", async () => {
    const strict = await startGateway({ JWKS_URL: fx.jwks.url, LEGACY_API_URL: fx.upstream.url, AUTH_SERVICE_URL: fx.upstream.url, MAX_HEADER_COUNT: "20" });
    try {
      expect((await sendRaw(strict.port, rawGet("/api/alice/tasks", [auth, ...padding(17)]))).status).toBe(200);
      expect((await sendRaw(strict.port, rawGet("/api/alice/tasks", [auth, ...padding(18)]))).status).toBe(431);
    } finally {
      await strict.close();
    }
  });
});

describe("the gateway's headers come first", () => {
  it("writes X-User-Id, X-Request-Id and X-Forwarded-* before every client header", async () => {
    await sendRaw(fx.gateway.port, rawGet("/api/alice/tasks", [auth, ...padding(90)]));
    const names = fx.upstream.last!.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
    const own = ["x-user-id", "x-request-id", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"];
    const firstClient = names.indexOf("p0");
    for (const name of own) expect(names.indexOf(name)).toBeLessThan(firstClient);
  });

  it("reaches a Node upstream that reads fewer headers than the client sent", async () => {
    // A real node:http upstream that keeps only its first 50 headers and drops the rest silently,
    // as every Node server does past its maxHeadersCount (2,000 by default).
    let seen: IncomingMessage | undefined;
    const nodeUpstream: Server = createServer((req, res) => {
      seen = req;
      res.writeHead(200, { "content-type": "application/json", "content-length": "2" }).end("{}");
    });
    nodeUpstream.maxHeadersCount = 50;
    await new Promise<void>((resolve) => nodeUpstream.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(nodeUpstream.address() as AddressInfo).port}`;
    const gateway = await startGateway({ JWKS_URL: fx.jwks.url, LEGACY_API_URL: url, AUTH_SERVICE_URL: url });
    try {
      const response = await sendRaw(gateway.port, rawGet("/api/alice/tasks", [auth, ...padding(97)]));
      expect(response.status).toBe(200);
      expect(seen!.headers["x-user-id"]).toBe("alice");
      expect(seen!.headers["x-forwarded-for"]).toBe("127.0.0.1");
    } finally {
      await gateway.close();
      nodeUpstream.closeAllConnections();
      await new Promise((resolve) => nodeUpstream.close(resolve));
    }
  });
});
