/**
 * An unmodified Spec 001 service that verifies HS256 tokens itself (shared secret, `aud`
 * refused, `exp` required) behind the gateway with only a route file: the gateway verifies the
 * client's EdDSA token, authorizes it, and sends the service a short-lived HS256 token it
 * accepts. The service is real (jose), and so is the task API behind it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { loadLegacyApiConfig } from "@todo-gateway/config";
import { buildApp as buildLegacyApi } from "@todo-gateway/legacy-api-stub";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { Hs256VerifyingUpstream } from "../helpers/hs256-upstream.ts";
import { JwksServer, createSigningKey, type SigningKey } from "../helpers/keys.ts";
import { mintToken } from "../helpers/tokens.ts";

const SHARED_SECRET = "the-third-party-service-shared-secret-0123456789";
let key: SigningKey;
let jwks: JwksServer;
let legacy: FastifyInstance;
let service: Hs256VerifyingUpstream;
let gateway: RunningGateway;
const dir = mkdtempSync(join(tmpdir(), "remint-"));

beforeAll(async () => {
  key = await createSigningKey();
  jwks = await new JwksServer([key]).start();
  legacy = await buildLegacyApi(loadLegacyApiConfig({}), { logger: false });
  await legacy.listen({ host: "127.0.0.1", port: 0 });
  service = await new Hs256VerifyingUpstream(SHARED_SECRET, `http://127.0.0.1:${(legacy.server.address() as AddressInfo).port}`).start();
  const file = join(dir, "spec001-hs256.yaml");
  const mint = "credentials: { mint: { algorithm: HS256, secretEnv: BETTER_AUTH_SECRET, claims: [sub, email], ttlSeconds: 60 } }";
  writeFileSync(file, `
upstreams:
  spec001: { url: "\${SPEC001_URL}" }
routes:
  - { name: tasks.list, methods: [GET], path: "/api/{user_id}/tasks", upstream: spec001, owner: sub == user_id, ${mint} }
  - { name: tasks.create, methods: [POST], path: "/api/{user_id}/tasks", upstream: spec001, owner: sub == user_id, ${mint} }
  - { name: tasks.get, methods: [GET], path: "/api/{user_id}/tasks/{id}", upstream: spec001, owner: sub == user_id, ${mint} }
  - { name: tasks.update, methods: [PUT], path: "/api/{user_id}/tasks/{id}", upstream: spec001, owner: sub == user_id, ${mint} }
  - { name: tasks.delete, methods: [DELETE], path: "/api/{user_id}/tasks/{id}", upstream: spec001, owner: sub == user_id, ${mint} }
  - { name: tasks.complete, methods: [PATCH], path: "/api/{user_id}/tasks/{id}/complete", upstream: spec001, owner: sub == user_id, ${mint} }
  - { name: tasks.forwarded, methods: [GET], path: "/forwarded/api/{user_id}/tasks", upstream: spec001, owner: sub == user_id, credentials: forward }
`);
  // The gateway's own tokens are EdDSA from the JWKS; the HS secret is only for minting.
  gateway = await startGateway(
    { GATEWAY_CONFIG: file, JWKS_URL: jwks.url, SPEC001_URL: service.url, BETTER_AUTH_SECRET: SHARED_SECRET },
    { now: Date.now },
  );
});
afterAll(async () => {
  await gateway.close();
  await Promise.all([jwks.stop(), service.stop(), legacy.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const tokenFor = (sub: string) => mintToken({ key, sub, iat: Math.floor(Date.now() / 1000), claims: { email: `${sub}@example.com` } });

function call(token: string, path: string, init: RequestInit = {}) {
  return fetch(`${gateway.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });
}

describe("the HS256-verifying service itself (so the tests below can fail)", () => {
  const hs = (claims: Record<string, unknown>, secret = SHARED_SECRET) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(secret));
  const direct = (token: string) => fetch(`${service.url}/api/ada/tasks`, { headers: { authorization: `Bearer ${token}` } });
  const now = () => Math.floor(Date.now() / 1000);

  it("accepts a good HS256 token", async () => {
    expect((await direct(await hs({ sub: "ada", exp: now() + 60 }))).status).toBe(200);
  });
  it("rejects a token carrying aud", async () => {
    expect((await direct(await hs({ sub: "ada", exp: now() + 60, aud: "http://127.0.0.1:3001" }))).status).toBe(401);
  });
  it("rejects an expired token", async () => {
    expect((await direct(await hs({ sub: "ada", exp: now() - 60 }))).status).toBe(401);
  });
  it("rejects a token signed with another secret", async () => {
    expect((await direct(await hs({ sub: "ada", exp: now() + 60 }, "x".repeat(48)))).status).toBe(401);
  });
  it("rejects the client's own EdDSA token, which is why the gateway re-mints", async () => {
    const response = await call(await tokenFor("ada"), "/forwarded/api/ada/tasks");
    expect(response.status).toBe(401);
  });
});

describe("through the gateway with a re-minted token", () => {
  it("holds the whole Spec 001 conversation for a user on their own tasks", async () => {
    const ada = await tokenFor("ada");
    const created = await call(ada, "/api/ada/tasks", { method: "POST", body: JSON.stringify({ title: "Write the route file" }) });
    expect(created.status).toBe(201);
    const task = (await created.json()) as { id: number; user_id: string };
    expect(task.user_id).toBe("ada");
    expect((await call(ada, "/api/ada/tasks")).status).toBe(200);
    expect((await call(ada, `/api/ada/tasks/${task.id}`)).status).toBe(200);
    expect((await call(ada, `/api/ada/tasks/${task.id}`, { method: "PUT", body: JSON.stringify({ title: "Done" }) })).status).toBe(200);
    const toggled = await call(ada, `/api/ada/tasks/${task.id}/complete`, { method: "PATCH" });
    expect(((await toggled.json()) as { completed: boolean }).completed).toBe(true);
    expect((await call(ada, `/api/ada/tasks/${task.id}`, { method: "DELETE" })).status).toBe(204);
  });

  it("sends exactly the chosen claims, no aud, and an exp a minute ahead", async () => {
    const before = service.accepted;
    expect((await call(await tokenFor("ada"), "/api/ada/tasks")).status).toBe(200);
    expect(service.accepted).toBe(before + 1);
    const payload = service.lastPayload!;
    expect(Object.keys(payload).sort()).toEqual(["email", "exp", "iat", "sub"]);
    expect(payload).toMatchObject({ sub: "ada", email: "ada@example.com" });
    expect((payload.exp as number) - (payload.iat as number)).toBe(60);
    expect(Math.abs((payload.iat as number) - Date.now() / 1000)).toBeLessThan(5);
  });

  it("refuses every cross-user attempt at the gateway, before the service sees it", async () => {
    const ada = await tokenFor("ada");
    const seen = service.accepted + service.rejected.length;
    for (const [method, path] of [["GET", "/api/bob/tasks"], ["POST", "/api/bob/tasks"], ["GET", "/api/bob/tasks/1"], ["PATCH", "/api/bob/tasks/1/complete"]] as const) {
      const response = await call(ada, path, { method, body: method === "POST" ? "{}" : undefined });
      expect({ path, status: response.status }).toEqual({ path, status: 403 });
    }
    expect(service.accepted + service.rejected.length).toBe(seen);
  });

  it("never lets a client's own HS256 token through as if the gateway had minted it", async () => {
    const forged = await new SignJWT({ sub: "ada", exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SHARED_SECRET));
    expect((await call(forged, "/api/ada/tasks")).status).toBe(401); // HS256 is not an accepted client algorithm here
  });
});
