/**
 * Attack: steer the upstream to another path or method than the one authorized. Many upstream
 * frameworks honour rewrite and override headers: `X-Original-URL` / `X-Rewrite-URL` (IIS,
 * Symfony), `X-HTTP-Method-Override` (Express method-override, Laravel, Spring), a
 * `X-Forwarded-Prefix` they build paths from. The gateway authorized GET /api/alice/tasks;
 * with `X-Original-URL: /api/bob/tasks` such an upstream would serve bob's. None of these
 * headers, in any case or `_` spelling, ever reaches an upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROUTING_OVERRIDE_HEADERS } from "@todo-gateway/config";
import { startFixture, type Fixture } from "../helpers/fixture.ts";
import { rawGet, sendRaw } from "../helpers/raw-http.ts";

let fx: Fixture;
let auth: string;
beforeAll(async () => {
  fx = await startFixture();
  auth = `Authorization: Bearer ${await fx.token("alice")}`;
});
afterAll(() => fx.close());

const forwardedNames = () => fx.upstream.last!.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());

describe("routing-override headers", () => {
  it.each([
    ["X-Original-URL", "/api/bob/tasks"],
    ["X-Rewrite-URL", "/api/bob/tasks"],
    ["X-HTTP-Method-Override", "DELETE"],
    ["X-HTTP-Method", "DELETE"],
    ["X-Method-Override", "PUT"],
    ["X-Forwarded-Prefix", "/admin"],
    ["X-Forwarded-Path", "/api/bob/tasks"],
    ["X-Original-Method", "DELETE"],
    ["X-Forwarded-Port", "1"],
    ["X-Forwarded-Scheme", "https"],
  ])("removes %s", async (name, value) => {
    for (const spelling of [name, name.toLowerCase(), name.toUpperCase(), name.replaceAll("-", "_")]) {
      const response = await sendRaw(fx.gateway.port, rawGet("/api/alice/tasks", [auth, `${spelling}: ${value}`]));
      expect(response.status).toBe(200);
      expect(fx.upstream.last!.url).toBe("/api/alice/tasks");
      expect(forwardedNames()).not.toContain(spelling.toLowerCase());
    }
  });

  it("removes every header of the set, on public routes too", async () => {
    const lines = [...ROUTING_OVERRIDE_HEADERS].map((name) => `${name}: /api/bob/tasks`);
    const response = await sendRaw(fx.gateway.port, rawGet("/api/auth/get-session", lines));
    expect(response.status).toBe(200);
    for (const name of ROUTING_OVERRIDE_HEADERS) expect(forwardedNames()).not.toContain(name);
  });
});
