/**
 * Attack: make the gateway authorize one path and the upstream serve another. Dot segments
 * (`/api/me/../victim/tasks`), their encodings (`%2e%2e`), encoded separators (`%2F`, `%5C`),
 * raw backslashes, empty segments, `;` parameters and control characters are all normalized
 * differently by different servers, so the gateway refuses them (400) instead of guessing.
 * A plain target is forwarded byte for byte, exactly as authorized.
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

const refused = [
  "/api/alice/../bob/tasks",
  "/api/bob/tasks/../../alice/tasks",
  "/api/alice/tasks/..",
  "/api/alice/tasks/.",
  "/api/./alice/tasks",
  "/api/alice/%2e%2e/bob/tasks",
  "/api/alice/%2E%2E/bob/tasks",
  "/api/alice/.%2e/bob/tasks",
  "/api/alice/%2e./bob/tasks",
  "/api/%2e/alice/tasks",
  "/api/alice%2F..%2Fbob/tasks",
  "/api/alice%2fbob/tasks",
  "/api/alice%5Cbob/tasks",
  "/api/alice%5c..%5cbob/tasks",
  "/api/alice\\..\\bob/tasks",
  "/api/alice\\tasks",
  "/api//alice/tasks",
  "//api/alice/tasks",
  "/api/alice//tasks",
  "/api/alice/tasks;jsessionid=1",
  "/api/alice;x=y/tasks",
  "/api/alice%3B/tasks",
  "/api/alice%00/tasks",
  "/api/alice%0d%0aX-User-Id:%20bob/tasks",
  "/api/alice%7F/tasks",
  "/api/alice/tasks%",
  "/api/alice/tasks%2",
  "/api/alice/tasks%zz",
  "/api/alice/tasks#fragment",
  "/api/al ice/tasks",
];

describe("non-canonical targets", () => {
  it.each(refused)("refuses %s with 400 and forwards nothing", async (target) => {
    const before = fx.forwarded();
    const response = await sendRaw(fx.gateway.port, rawGet(target, [auth]));
    expect(response.status).toBe(400);
    expect(fx.forwarded()).toBe(before);
    if (response.headers["content-type"]) expect(response.headers["content-type"]).toBe("application/problem+json");
  });

  it("refuses raw non-ASCII bytes in the path", async () => {
    const response = await sendRaw(fx.gateway.port, rawGet("/api/al\u00e9/tasks", [auth]));
    expect(response.status).toBe(400);
  });

  it("refuses a percent-escape that is not UTF-8 in the user segment", async () => {
    const response = await sendRaw(fx.gateway.port, rawGet("/api/alice%ff/tasks", [auth]));
    expect(response.status).toBe(400);
  });

  it("refuses a dot segment before it would even match a route", async () => {
    const response = await sendRaw(fx.gateway.port, rawGet("/unknown/../api/alice/tasks", [auth]));
    expect(response.status).toBe(400);
  });
});

describe("plain targets", () => {
  it("forwards the target byte for byte, query included", async () => {
    const target = "/api/alice/tasks?status=pending&x=%2F..%2F&y=a;b";
    const response = await sendRaw(fx.gateway.port, rawGet(target, [auth]));
    expect(response.status).toBe(200);
    expect(fx.upstream.last?.url).toBe(target);
  });

  it("compares the percent-decoded user segment and forwards it still encoded", async () => {
    const response = await sendRaw(fx.gateway.port, rawGet("/api/%61lice/tasks", [auth]));
    expect(response.status).toBe(200);
    expect(fx.upstream.last?.url).toBe("/api/%61lice/tasks");
  });

  it("keeps names with dots that are not dot segments", async () => {
    const token = await fx.token("a.b..c");
    const response = await sendRaw(fx.gateway.port, rawGet("/api/a.b..c/tasks", [`Authorization: Bearer ${token}`]));
    expect(response.status).toBe(200);
  });

  it("matches sub case-sensitively", async () => {
    const response = await sendRaw(fx.gateway.port, rawGet("/api/Alice/tasks", [auth]));
    expect(response.status).toBe(403);
  });

  it("matches a sub with characters that need encoding", async () => {
    const token = await fx.token("joe doe@x+1");
    const target = `/api/${encodeURIComponent("joe doe@x+1")}/tasks`;
    const response = await sendRaw(fx.gateway.port, rawGet(target, [`Authorization: Bearer ${token}`]));
    expect(response.status).toBe(200);
    expect(fx.upstream.last?.url).toBe(target);
  });
});
