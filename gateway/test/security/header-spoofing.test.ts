/**
 * Attack: tell the upstream who you are. The upstream trusts `X-User-Id`, so a client sends its
 * own (in any case, several times, folded with commas), or lists the gateway's header in
 * `Connection` hoping a hop-by-hop strip removes the gateway's copy after it was set. The
 * gateway scrubs every client copy, then sets exactly one from the verified `sub`
 * (Oathkeeper's "Scrub Incoming Headers"). Provenance headers are rebuilt the same way.
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

function headerValues(name: string): string[] {
  const raw = fx.upstream.last!.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) values.push(raw[i + 1]!);
  return values;
}

async function send(lines: string[], target = "/api/alice/tasks") {
  const response = await sendRaw(fx.gateway.port, rawGet(target, [auth, ...lines]));
  expect(response.status).toBe(200);
  return response;
}

describe("X-User-Id", () => {
  it.each([
    [["X-User-Id: bob"]],
    [["x-user-id: bob"]],
    [["X-USER-ID: bob"]],
    [["X-User-Id: bob", "X-User-Id: carol"]],
    [["X-User-Id: alice, bob"]],
    [["X-User-Id: alice", "x-user-id: bob"]],
    [["X-User-Id:"]],
  ])("replaces client copies %j with exactly one from sub", async (lines) => {
    await send(lines);
    expect(headerValues("x-user-id")).toEqual(["alice"]);
  });

  it("cannot be removed by listing it in Connection", async () => {
    for (const connection of ["x-user-id", "X-User-Id, keep-alive", "close, x-user-id, x-request-id, x-forwarded-for"]) {
      const response = await sendRaw(
        fx.gateway.port,
        ["GET /api/alice/tasks HTTP/1.1", "Host: gateway.test", auth, "X-User-Id: bob", `Connection: ${connection}`, "", ""].join("\r\n"),
      );
      expect(response.status).toBe(200);
      expect(headerValues("x-user-id")).toEqual(["alice"]);
      expect(headerValues("x-request-id")).toHaveLength(1);
      expect(headerValues("x-forwarded-for")).toHaveLength(1);
    }
  });

  it("drops other headers the client lists in Connection", async () => {
    await sendRaw(
      fx.gateway.port,
      ["GET /api/alice/tasks HTTP/1.1", "Host: gateway.test", auth, "X-Secret-Hop: 1", "Connection: X-Secret-Hop", "", ""].join("\r\n"),
    );
    expect(headerValues("x-secret-hop")).toEqual([]);
    expect(headerValues("connection")).not.toContain("X-Secret-Hop");
  });

  it("is scrubbed but not set on public routes", async () => {
    const response = await sendRaw(fx.gateway.port, rawGet("/api/auth/get-session", ["X-User-Id: bob"]));
    expect(response.status).toBe(200);
    expect(headerValues("x-user-id")).toEqual([]);
  });
});

describe("look-alike and provenance headers", () => {
  it("drops underscore variants of the headers only the gateway sets", async () => {
    await send(["X_User_Id: bob", "x_forwarded_for: 10.9.9.9", "X_Request_Id: forged"]);
    const names = fx.upstream.last!.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names.filter((n) => n.includes("_"))).toEqual([]);
    expect(headerValues("x-user-id")).toEqual(["alice"]);
  });

  it("drops client-asserted X-Real-IP and Forwarded (X-Real-IP is the gateway's own: the client's address)", async () => {
    await send(["X-Real-IP: 10.0.0.1", "Forwarded: for=10.0.0.1;proto=https"]);
    expect(headerValues("x-real-ip")).toEqual(["127.0.0.1"]);
    expect(headerValues("forwarded")).toEqual([]);
  });
});

describe("provenance headers", () => {
  it("appends the socket address to the client's X-Forwarded-For", async () => {
    await send(["X-Forwarded-For: 203.0.113.9", "X-Forwarded-For: 10.0.0.1"]);
    expect(headerValues("x-forwarded-for")).toEqual(["203.0.113.9, 10.0.0.1, 127.0.0.1"]);
  });

  it("sets X-Forwarded-For to the socket address when the client sent none", async () => {
    await send([]);
    expect(headerValues("x-forwarded-for")).toEqual(["127.0.0.1"]);
  });

  it("sets X-Forwarded-Proto and X-Forwarded-Host once each, ignoring the client's", async () => {
    await send(["X-Forwarded-Proto: https", "X-Forwarded-Host: evil.test", "x-forwarded-host: evil2.test"]);
    expect(headerValues("x-forwarded-proto")).toEqual(["http"]);
    expect(headerValues("x-forwarded-host")).toEqual(["gateway.test"]);
  });

  it("keeps a sane client X-Request-Id and returns it", async () => {
    const response = await send(["X-Request-Id: abc.DEF_123-x"]);
    expect(headerValues("x-request-id")).toEqual(["abc.DEF_123-x"]);
    expect(response.headers["x-request-id"]).toBe("abc.DEF_123-x");
  });

  it.each([
    ["too long", "a".repeat(129)],
    ["with spaces", "abc def"],
    ["with a CRLF-looking payload", "abc%0d%0aX-User-Id:bob"],
    ["with a slash", "../../etc"],
  ])("replaces an X-Request-Id %s with a fresh one", async (_what, id) => {
    const response = await send([`X-Request-Id: ${id}`]);
    const forwarded = headerValues("x-request-id");
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]).not.toBe(id);
    expect(forwarded[0]).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    expect(response.headers["x-request-id"]).toBe(forwarded[0]);
  });

  it("replaces two X-Request-Id headers with one fresh id", async () => {
    await send(["X-Request-Id: one", "X-Request-Id: two"]);
    const forwarded = headerValues("x-request-id");
    expect(forwarded).toHaveLength(1);
    expect(["one", "two"]).not.toContain(forwarded[0]);
  });

  it("returns a request id on refusals too", async () => {
    const response = await sendRaw(fx.gateway.port, rawGet("/api/bob/tasks", [auth, "X-Request-Id: trace-1"]));
    expect(response.status).toBe(403);
    expect(response.headers["x-request-id"]).toBe("trace-1");
  });
});

describe("identity headers of other proxies", () => {
  // An upstream built for oauth2-proxy, Kong, Apache or a cloud load balancer trusts these.
  it.each([
    "X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Access-Token", "X-Forwarded-Preferred-Username",
    "X-Auth-Request-User", "X-Auth-Request-Email", "Remote-User", "X-Remote-User", "X-Authenticated-Userid", "X-Consumer-Username",
    "X-Credential-Identifier", "X-Userinfo", "X-Amzn-Oidc-Identity", "X-Ms-Client-Principal-Name", "Cf-Access-Authenticated-User-Email",
  ])("never forwards a client's %s", async (name) => {
    await send([`${name}: bob`, `${name.replaceAll("-", "_")}: bob`]);
    const names = fx.upstream.last!.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names).not.toContain(name.toLowerCase());
    expect(names).not.toContain(name.toLowerCase().replaceAll("-", "_"));
  });
});

describe("what the client receives", () => {
  it("is given the gateway's request id, never the upstream's", async () => {
    fx.upstream.responseHeaders = { "x-request-id": "upstream-chose-this" };
    try {
      const response = await send(["X-Request-Id: mine-1"]);
      expect(response.headers["x-request-id"]).toBe("mine-1");
    } finally {
      fx.upstream.responseHeaders = {};
    }
  });
});
