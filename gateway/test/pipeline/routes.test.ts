import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, refusal, type Fixture } from "../helpers/fixture.ts";

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(() => fx.close());

describe("deny by default", () => {
  it.each(["/api", "/api/", "/api/user-1", "/api/user-1/tasks/", "/api/user-1/tasks/1/2", "/api/user-1/tasks/1/complete/x", "/api/auth", "/admin", "/healthz/x", "/favicon.ico"])(
    "answers 404 problem+json for %s and forwards nothing",
    async (path) => {
      const before = fx.forwarded();
      const r = await refusal(await fetch(`${fx.gateway.url}${path}`, { headers: await fx.bearer() }));
      expect(r.status).toBe(404);
      expect(r.contentType).toBe("application/problem+json");
      expect(fx.forwarded()).toBe(before);
    },
  );

  it.each([
    ["DELETE", "/api/user-1/tasks", "GET, POST"],
    ["HEAD", "/api/user-1/tasks", "GET, POST"],
    ["POST", "/api/user-1/tasks/1", "GET, PUT, DELETE"],
    ["GET", "/api/user-1/tasks/1/complete", "PATCH"],
    ["POST", "/healthz", "GET, HEAD"],
    ["DELETE", "/metrics", "GET"],
  ])("answers 405 with Allow for %s %s", async (method, path, allow) => {
    const before = fx.forwarded();
    const response = await fetch(`${fx.gateway.url}${path}`, { method, headers: await fx.bearer() });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe(allow);
    expect(fx.forwarded()).toBe(before);
  });

  it("answers HEAD on the health endpoints, for load balancers", async () => {
    for (const path of ["/healthz", "/readyz"]) {
      const response = await fetch(`${fx.gateway.url}${path}`, { method: "HEAD" });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("");
    }
  });

  it("answers an unknown method on a known path with 405", async () => {
    const response = await fetch(`${fx.gateway.url}/api/user-1/tasks`, { method: "PROPFIND", headers: await fx.bearer() });
    expect(response.status).toBe(405);
  });

  it("routes /api/auth/tasks to the auth-service, not to a user called auth", async () => {
    const response = await fetch(`${fx.gateway.url}/api/auth/tasks`);
    expect(response.status).toBe(200);
    expect(fx.upstream.last!.headers["x-user-id"]).toBeUndefined();
  });
});
