/**
 * Attack: confuse routing with Host. Two Host headers (the gateway reads one, a later hop the
 * other), a Host that is not a host at all, or none on HTTP/1.1. RFC 9112 §3.2 makes each of
 * these a 400; the gateway answers them as problem+json and forwards nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/fixture.ts";
import { sendRaw } from "../helpers/raw-http.ts";

let fx: Fixture;
let auth: string;
beforeAll(async () => {
  fx = await startFixture();
  auth = `Authorization: Bearer ${await fx.token("alice")}`;
});
afterAll(() => fx.close());

const request = (version: string, hostLines: string[]) =>
  [`GET /api/alice/tasks HTTP/${version}`, ...hostLines, auth, "Connection: close", "", ""].join("\r\n");

describe("Host", () => {
  it.each([
    ["two Host headers", ["Host: gateway.test", "Host: evil.example"]],
    ["two Host headers in different case", ["Host: gateway.test", "host: gateway.test"]],
    ["a Host with a space", ["Host: a b"]],
    ["a Host with a path", ["Host: gateway.test/admin"]],
    ["a Host with a user", ["Host: user@gateway.test"]],
    ["a Host with a quote", ['Host: gateway.test"><script>']],
    ["a Host with a comma", ["Host: a.test,b.test"]],
    ["a Host with a percent-escape", ["Host: gateway%2etest"]],
    ["a Host with a non-numeric port", ["Host: gateway.test:http"]],
    ["a Host with a port past 65535", ["Host: gateway.test:99999"]],
    ["a Host that is only a port", ["Host: :8080"]],
    ["no Host on HTTP/1.1", []],
  ])("refuses %s with 400 problem+json", async (_what, hostLines) => {
    const before = fx.forwarded();
    const response = await sendRaw(fx.gateway.port, request("1.1", hostLines));
    expect(response.status).toBe(400);
    expect(response.headers["content-type"]).toBe("application/problem+json");
    expect(response.headers["x-request-id"]).toBeTruthy();
    expect(fx.forwarded()).toBe(before);
  });

  it.each([["a name and port", "gateway.test:8080"], ["an IPv4 address", "127.0.0.1"], ["an IPv6 literal", "[::1]:8080"], ["a name with an underscore", "my_service.internal"]])(
    "accepts %s",
    async (_what, host) => {
      const response = await sendRaw(fx.gateway.port, request("1.1", [`Host: ${host}`]));
      expect(response.status).toBe(200);
      expect(fx.upstream.last!.headers["x-forwarded-host"]).toBe(host);
    },
  );

  it("accepts HTTP/1.0 without Host, and sets no X-Forwarded-Host", async () => {
    const response = await sendRaw(fx.gateway.port, request("1.0", []));
    expect(response.status).toBe(200);
    expect(fx.upstream.last!.headers["x-forwarded-host"]).toBeUndefined();
  });
});
