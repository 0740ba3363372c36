/**
 * Attack: absolute-form and asterisk-form request targets (`GET http://victim/api/...`,
 * `OPTIONS *`). A proxy that routes on the path but forwards the absolute URL, or that lets the
 * URL's authority pick the upstream, can be steered elsewhere. Only origin-form is accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/fixture.ts";
import { rawGet, sendRaw } from "../helpers/raw-http.ts";

let fx: Fixture;
let auth: string;
beforeAll(async () => {
  fx = await startFixture();
  auth = `Authorization: Bearer ${await fx.token("alice")}`;
});
afterAll(() => fx.close());

describe("request-target forms", () => {
  it.each([
    ["GET", "http://127.0.0.1/api/alice/tasks"],
    ["GET", "https://evil.test/api/alice/tasks"],
    ["GET", "HTTP://127.0.0.1/api/alice/tasks"],
    ["POST", "http://127.0.0.1/api/alice/tasks"],
    ["OPTIONS", "*"],
    ["GET", "*"],
    ["GET", "api/alice/tasks"],
  ])("refuses %s %s with 400", async (method, target) => {
    const before = fx.forwarded();
    const response = await sendRaw(fx.gateway.port, rawGet(target, [auth], method));
    expect(response.status).toBe(400);
    expect(fx.forwarded()).toBe(before);
  });

  it("answers the problem as problem+json", async () => {
    const response = await sendRaw(fx.gateway.port, rawGet("http://127.0.0.1/api/alice/tasks", [auth]));
    expect(response.headers["content-type"]).toBe("application/problem+json");
    expect(JSON.parse(response.body)).toMatchObject({ status: 400, title: "Malformed request target" });
  });

  it("answers CONNECT, which never reaches a route, as 400 for an authority and 405 on a known path", async () => {
    const before = fx.forwarded();
    const authority = await sendRaw(fx.gateway.port, ["CONNECT 127.0.0.1:443 HTTP/1.1", "Host: 127.0.0.1:443", auth, "", ""].join("\r\n"));
    expect(authority.status).toBe(400);
    expect(authority.headers["content-type"]).toBe("application/problem+json");
    const known = await sendRaw(fx.gateway.port, ["CONNECT /api/alice/tasks HTTP/1.1", "Host: gateway.test", auth, "", ""].join("\r\n"));
    expect(known.status).toBe(405);
    expect(known.headers.allow).toBe("GET, POST");
    expect(fx.forwarded()).toBe(before);
  });
});
