/**
 * Attack: exhaust the gateway with size. A huge token (cheap to send, costly to decode and
 * verify), headers past Node's limit, or a body past 1 MiB must be refused early with 401,
 * 431 and 413, without the gateway buffering more than its limits or forwarding anything.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, refusal, type Fixture } from "../helpers/fixture.ts";
import { sendRaw } from "../helpers/raw-http.ts";

let fx: Fixture;
let token: string;
beforeAll(async () => {
  fx = await startFixture();
  token = await fx.token("alice");
});
afterAll(() => fx.close());

describe("size limits", () => {
  it("refuses a token over 8 KiB with 401 before any signature work", async () => {
    const bloated = await fx.token("alice", { claims: { pad: "x".repeat(9000) } });
    const before = fx.forwarded();
    const r = await refusal(await fetch(`${fx.gateway.url}/api/alice/tasks`, { headers: { authorization: `Bearer ${bloated}` } }));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("token too large");
    expect(r.challenge).toContain('error="invalid_token"');
    expect(fx.forwarded()).toBe(before);
  });

  it("accepts a signed token just under 8 KiB", async () => {
    const large = await fx.token("alice", { claims: { pad: "x".repeat(5500) } });
    expect(large.length).toBeLessThan(8192);
    const response = await fetch(`${fx.gateway.url}/api/alice/tasks`, { headers: { authorization: `Bearer ${large}` } });
    expect(response.status).toBe(200);
  });

  it("refuses headers over Node's limit with 431", async () => {
    const request = ["GET /api/alice/tasks HTTP/1.1", "Host: gateway.test", `Authorization: Bearer ${token}`, `X-Big: ${"a".repeat(20_000)}`, "", ""].join("\r\n");
    const before = fx.forwarded();
    const response = await sendRaw(fx.gateway.port, request);
    expect(response.status).toBe(431);
    expect(response.headers["content-type"]).toBe("application/problem+json");
    expect(fx.forwarded()).toBe(before);
  });

  it("refuses a declared body over 1 MiB with 413", async () => {
    const before = fx.forwarded();
    const response = await fetch(`${fx.gateway.url}/api/alice/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "x".repeat(1024 * 1024 + 1),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(fx.forwarded()).toBe(before);
  });

  it("refuses a chunked body that grows past 1 MiB with 413", async () => {
    const chunk = "x".repeat(64 * 1024);
    const chunks = Array.from({ length: 17 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join("");
    const request = ["POST /api/alice/tasks HTTP/1.1", "Host: gateway.test", `Authorization: Bearer ${token}`, "Transfer-Encoding: chunked", "Content-Type: application/json", "", chunks + "0\r\n\r\n"].join("\r\n");
    const before = fx.forwarded();
    const response = await sendRaw(fx.gateway.port, request);
    expect(response.status).toBe(413);
    expect(fx.forwarded()).toBe(before);
  });

  it("accepts a body of exactly 1 MiB", async () => {
    const response = await fetch(`${fx.gateway.url}/api/alice/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
      body: "x".repeat(1024 * 1024),
    });
    expect(response.status).toBe(200);
    expect(fx.upstream.last!.body.length).toBe(1024 * 1024);
  });

  it("answers 401, not 413, to an unauthenticated oversize body", async () => {
    const response = await fetch(`${fx.gateway.url}/api/alice/tasks`, { method: "POST", body: "x".repeat(2 * 1024 * 1024) });
    expect(response.status).toBe(401);
  });
});
