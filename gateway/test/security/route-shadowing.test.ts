/**
 * Attack: reach a protected path through a public route. With a public `/api/*` route on the
 * task API beside the protected task routes, `GET /api/alice/%74asks` with no token served
 * alice's tasks: the gateway compared literals undecoded (no protected route matched, so the
 * public one did), and the upstream decoded `%74` to `t`. Now literal segments are compared
 * decoded, as the upstream will read them, and a table where a public route can match a
 * protected route's paths on the same upstream is refused at load with one line.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/fixture.ts";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { startGatewayProcess } from "../helpers/process.ts";
import { rawGet, sendRaw } from "../helpers/raw-http.ts";
import { RecordingUpstream } from "../helpers/upstream.ts";

const dir = mkdtempSync(join(tmpdir(), "shadowing-"));
let fx: Fixture;
let other: RecordingUpstream;
let gateway: RunningGateway;

const tasks = `
  - { name: tasks.list, methods: [GET], path: "/api/{user_id}/tasks", upstream: legacy, owner: sub == user_id }
  - { name: tasks.get, methods: [GET], path: "/api/{user_id}/tasks/{id}", upstream: legacy, owner: sub == user_id }`;

beforeAll(async () => {
  fx = await startFixture();
  other = await new RecordingUpstream().start();
  // A public catch-all on another service: allowed, since it cannot reach the task API's paths.
  const file = join(dir, "routes.yaml");
  writeFileSync(file, `upstreams:\n  legacy: { url: "\${LEGACY_API_URL}" }\n  other: { url: "${other.url}" }\nroutes:${tasks}\n  - { name: open, methods: [GET], path: "/api/*", upstream: other, auth: none }\n`);
  gateway = await startGateway({ GATEWAY_CONFIG: file, JWKS_URL: fx.jwks.url, LEGACY_API_URL: fx.upstream.url, AUTH_SERVICE_URL: fx.upstream.url });
});
afterAll(async () => {
  await gateway.close();
  await Promise.all([fx.close(), other.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("escaped literals", () => {
  it.each(["/api/alice/%74asks", "/api/alice/%74%61%73%6b%73", "/api/alice/t%61sks/1"])(
    "match %s as the protected route the upstream will read, never the public one",
    async (target) => {
      const before = { legacy: fx.forwarded(), other: other.requests.length };
      const response = await sendRaw(gateway.port, rawGet(target));
      expect(response.status).toBe(401);
      expect(fx.forwarded()).toBe(before.legacy);
      expect(other.requests.length).toBe(before.other);
    },
  );

  it("leaves a path that decodes to no protected literal to the public route (%54asks is Tasks)", async () => {
    const before = fx.forwarded();
    const response = await sendRaw(gateway.port, rawGet("/api/alice/%54asks"));
    expect(response.status).toBe(200);
    expect(other.last!.url).toBe("/api/alice/%54asks");
    expect(fx.forwarded()).toBe(before);
  });

  it("forwards an escaped literal byte for byte once authorized", async () => {
    const response = await sendRaw(gateway.port, rawGet("/api/alice/%74asks", [`Authorization: Bearer ${await fx.token("alice")}`]));
    expect(response.status).toBe(200);
    expect(fx.upstream.last!.url).toBe("/api/alice/%74asks");
    const refused = await sendRaw(gateway.port, rawGet("/api/bob/%74asks", [`Authorization: Bearer ${await fx.token("alice")}`]));
    expect(refused.status).toBe(403);
  });
});

describe("a table where a public route shadows a protected one", () => {
  it("stops the gateway at start with one line naming the file, the route and the field", async () => {
    const file = join(dir, "shadowing.yaml");
    writeFileSync(file, `upstreams:\n  legacy: { url: "\${LEGACY_API_URL}" }\nroutes:${tasks}\n  - { name: open, methods: [GET], path: "/api/*", upstream: legacy, auth: none }\n`);
    const process = startGatewayProcess({ GATEWAY_CONFIG: file, JWKS_URL: fx.jwks.url, LEGACY_API_URL: fx.upstream.url });
    expect(await process.exited).toBe(1);
    expect(process.output().stderr.trim().split("\n")).toEqual([
      `gateway: configuration error: ${file}: routes[2].path: public /api/* can match paths of routes[0] (tasks.list, auth: jwt) on the same upstream legacy; narrow it or protect it`,
    ]);
    expect(process.output().stdout).not.toContain("listening");
  });
});
