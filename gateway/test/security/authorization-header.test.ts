/**
 * Attack: confuse the credential source. Two Authorization headers (a proxy and the gateway
 * might each pick a different one), a token smuggled in the query string or a cookie, another
 * scheme, an empty bearer. Only one `Authorization: Bearer <jwt>` header counts (docs/behaviour.md §4.1);
 * every challenge follows RFC 6750 §3 exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, refusal, type Fixture } from "../helpers/fixture.ts";
import { rawGet, sendRaw } from "../helpers/raw-http.ts";

let fx: Fixture;
let token: string;
beforeAll(async () => {
  fx = await startFixture();
  token = await fx.token("alice");
});
afterAll(() => fx.close());

const url = () => `${fx.gateway.url}/api/alice/tasks`;

describe("where the token may come from", () => {
  it("accepts the Bearer scheme in any case", async () => {
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
      expect((await fetch(url(), { headers: { authorization: `${scheme} ${token}` } })).status).toBe(200);
    }
  });

  it("answers a missing token with a bare challenge (no error code)", async () => {
    const r = await refusal(await fetch(url()));
    expect(r.status).toBe(401);
    expect(r.challenge).toBe('Bearer realm="todo-gateway"');
    expect(r.contentType).toBe("application/problem+json");
    expect(r.body).toEqual({
      type: expect.any(String), title: "Authentication required", status: 401, detail: "a bearer token is required",
    });
  });

  it("ignores a token in the query string or a cookie", async () => {
    const before = fx.forwarded();
    for (const response of [
      await fetch(`${url()}?access_token=${token}`),
      await fetch(url(), { headers: { cookie: `token=${token}; access_token=${token}` } }),
    ]) {
      const r = await refusal(response);
      expect(r.status).toBe(401);
      expect(r.challenge).toBe('Bearer realm="todo-gateway"');
    }
    expect(fx.forwarded()).toBe(before);
  });

  it("treats another scheme as no token", async () => {
    for (const value of [`Basic ${Buffer.from("alice:pw").toString("base64")}`, `Token ${token}`, `JWT ${token}`]) {
      const r = await refusal(await fetch(url(), { headers: { authorization: value } }));
      expect(r.status).toBe(401);
      expect(r.challenge).toBe('Bearer realm="todo-gateway"');
    }
  });

  it("refuses an empty bearer as an invalid token", async () => {
    const response = await sendRaw(fx.gateway.port, rawGet("/api/alice/tasks", ["Authorization: Bearer"]));
    expect(response.status).toBe(401);
    expect(response.headers["www-authenticate"]).toBe('Bearer realm="todo-gateway", error="invalid_token", error_description="empty bearer token"');
  });

  it("refuses two Authorization headers with 400 invalid_request, even if both are valid", async () => {
    const before = fx.forwarded();
    for (const pair of [
      [`Authorization: Bearer ${token}`, `Authorization: Bearer ${token}`],
      [`Authorization: Bearer ${token}`, "authorization: Basic eDp5"],
      ["Authorization: Basic eDp5", `AUTHORIZATION: Bearer ${token}`],
    ]) {
      const response = await sendRaw(fx.gateway.port, rawGet("/api/alice/tasks", pair));
      expect(response.status).toBe(400);
      expect(response.headers["www-authenticate"]).toBe(
        'Bearer realm="todo-gateway", error="invalid_request", error_description="more than one Authorization header"',
      );
      expect(JSON.parse(response.body)).toMatchObject({ status: 400 });
    }
    expect(fx.forwarded()).toBe(before);
  });

  it("sees a second Authorization header at the very end of the largest header block it accepts", async () => {
    // 100 lines in all (MAX_HEADER_COUNT): Host, Connection, two Authorization and 96 others.
    const filler = Array.from({ length: 96 }, (_, i) => `a${i}: 1`);
    const before = fx.forwarded();
    const response = await sendRaw(fx.gateway.port, rawGet("/api/alice/tasks", [`Authorization: Bearer ${token}`, ...filler, "Authorization: Bearer x"]));
    expect(response.status).toBe(400);
    expect(response.headers["www-authenticate"]).toContain('error="invalid_request"');
    expect(fx.forwarded()).toBe(before);
  });

  it("refuses a header block past MAX_HEADER_COUNT with 431, whatever Authorization hides in it", async () => {
    // Node keeps only the first lines of a huge block; a count over what it keeps would miss a late one.
    const filler = Array.from({ length: 2100 }, (_, i) => `a${i}: 1`);
    const before = fx.forwarded();
    const response = await sendRaw(fx.gateway.port, rawGet("/api/alice/tasks", [`Authorization: Bearer ${token}`, ...filler, "Authorization: Bearer x"]));
    expect(response.status).toBe(431);
    expect(response.headers["content-type"]).toBe("application/problem+json");
    expect(fx.forwarded()).toBe(before);
  });

  it("refuses a bearer value with two tokens", async () => {
    const response = await fetch(url(), { headers: { authorization: `Bearer ${token} ${token}` } });
    expect(response.status).toBe(401);
  });
});

describe("authorization", () => {
  it("refuses another user's path with 403 problem+json and forwards nothing", async () => {
    const before = fx.forwarded();
    for (const path of ["/api/bob/tasks", "/api/bob/tasks/1", "/api/bob/tasks/1/complete", "/api/alice%20/tasks", "/api/alic/tasks"]) {
      const method = path.endsWith("complete") ? "PATCH" : "GET";
      const r = await refusal(await fetch(`${fx.gateway.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } }));
      expect(r.status).toBe(403);
      expect(r.contentType).toBe("application/problem+json");
      expect(r.challenge).toBeNull();
    }
    expect(fx.forwarded()).toBe(before);
  });

  it("lets each of the six Spec 001 routes through for the owner", async () => {
    const routes: [string, string][] = [
      ["GET", "/api/alice/tasks"], ["POST", "/api/alice/tasks"], ["GET", "/api/alice/tasks/7"],
      ["PUT", "/api/alice/tasks/7"], ["DELETE", "/api/alice/tasks/7"], ["PATCH", "/api/alice/tasks/7/complete"],
    ];
    for (const [method, path] of routes) {
      const response = await fetch(`${fx.gateway.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 200 });
      expect(fx.upstream.last).toMatchObject({ method, url: path });
    }
  });
});
