/**
 * The product end to end: the real auth-service (Better Auth on SQLite), the real legacy API
 * stub and the gateway, each on a free loopback port. Two users sign up through the gateway,
 * get JWTs from the auth-service through it, and hold the whole Spec 001 conversation on
 * their own tasks; every attempt on the other's path is refused and never reaches the API.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAuthServiceConfig, loadLegacyApiConfig } from "@todo-gateway/config";
import { buildApp as buildAuthService, type AuthServiceApp } from "@todo-gateway/auth-service";
import { buildApp as buildLegacyApi } from "@todo-gateway/legacy-api-stub";
import type { FastifyInstance } from "fastify";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";

const GATEWAY_ORIGIN = "http://127.0.0.1:8080"; // trusted by the auth-service by default
let legacy: FastifyInstance;
let legacyRequests = 0;
let auth: AuthServiceApp;
let authUrl: string;
let gateway: RunningGateway;
let dataDir: string;

beforeAll(async () => {
  legacy = await buildLegacyApi(loadLegacyApiConfig({ LOG_LEVEL: "silent" }), { logger: false });
  await legacy.listen({ host: "127.0.0.1", port: 0 });
  legacy.server.on("request", () => (legacyRequests += 1));
  const legacyUrl = `http://127.0.0.1:${(legacy.server.address() as AddressInfo).port}`;

  dataDir = mkdtempSync(join(tmpdir(), "e2e-auth-"));
  const authConfig = loadAuthServiceConfig({
    NODE_ENV: "test", BETTER_AUTH_SECRET: randomBytes(32).toString("hex"), DATA_DIR: dataDir,
    BETTER_AUTH_URL: "http://127.0.0.1:3001", LOG_LEVEL: "silent",
  });
  auth = await buildAuthService(authConfig);
  authUrl = await auth.listen({ host: "127.0.0.1", port: 0 });

  gateway = await startGateway(
    { LEGACY_API_URL: legacyUrl, AUTH_SERVICE_URL: authUrl, JWT_ISSUER: "http://127.0.0.1:3001", JWT_AUDIENCE: "http://127.0.0.1:3001" },
    { now: Date.now },
  );
});

afterAll(async () => {
  await gateway?.close();
  await auth?.close().catch(() => undefined);
  await legacy?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface User {
  id: string;
  jwt: string;
}

async function signUpThroughGateway(name: string): Promise<User> {
  const email = `${name}-${randomBytes(4).toString("hex")}@example.test`;
  const signUp = await fetch(`${gateway.url}/api/auth/sign-up/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: GATEWAY_ORIGIN },
    body: JSON.stringify({ email, password: "correct horse battery staple", name }),
  });
  expect(signUp.status).toBe(200);
  const { token: sessionToken, user } = (await signUp.json()) as { token: string; user: { id: string } };
  const tokenResponse = await fetch(`${gateway.url}/api/auth/token`, { headers: { authorization: `Bearer ${sessionToken}` } });
  expect(tokenResponse.status).toBe(200);
  const { token: jwt } = (await tokenResponse.json()) as { token: string };
  return { id: user.id, jwt };
}

function api(user: User, path: string, init: RequestInit = {}) {
  return fetch(`${gateway.url}/api/${path}`, {
    ...init,
    headers: { authorization: `Bearer ${user.jwt}`, "content-type": "application/json", ...init.headers },
  });
}

describe("two users through the whole stack", () => {
  let alice: User;
  let bob: User;
  let aliceTaskId: number;

  beforeAll(async () => {
    alice = await signUpThroughGateway("alice");
    bob = await signUpThroughGateway("bob");
  });

  it("lets each user hold the whole Spec 001 conversation on their own tasks", async () => {
    for (const user of [alice, bob]) {
      const created = await api(user, `${user.id}/tasks`, { method: "POST", body: JSON.stringify({ title: "Buy milk", description: "2 litres" }) });
      expect(created.status).toBe(201);
      const task = (await created.json()) as { id: number; user_id: string; title: string; completed: boolean };
      expect(task).toMatchObject({ user_id: user.id, title: "Buy milk", completed: false });
      if (user === alice) aliceTaskId = task.id;

      const second = await api(user, `${user.id}/tasks`, { method: "POST", body: JSON.stringify({ title: "Walk" }) });
      expect(second.status).toBe(201);
      const secondId = ((await second.json()) as { id: number }).id;

      const list = (await (await api(user, `${user.id}/tasks`)).json()) as { id: number; user_id: string }[];
      expect(list.map((t) => t.id)).toEqual([secondId, task.id]); // newest first
      expect(list.every((t) => t.user_id === user.id)).toBe(true);

      expect((await api(user, `${user.id}/tasks/${task.id}`)).status).toBe(200);
      const updated = await api(user, `${user.id}/tasks/${task.id}`, { method: "PUT", body: JSON.stringify({ title: "Buy oat milk" }) });
      expect(((await updated.json()) as { title: string }).title).toBe("Buy oat milk");
      const toggled = await api(user, `${user.id}/tasks/${task.id}/complete`, { method: "PATCH" });
      expect(((await toggled.json()) as { completed: boolean }).completed).toBe(true);
      const completed = (await (await api(user, `${user.id}/tasks?status=completed`)).json()) as { id: number }[];
      expect(completed.map((t) => t.id)).toEqual([task.id]);
      expect((await api(user, `${user.id}/tasks/${secondId}`, { method: "DELETE" })).status).toBe(204);
      expect((await api(user, `${user.id}/tasks/${secondId}`)).status).toBe(404);

      const invalid = await api(user, `${user.id}/tasks`, { method: "POST", body: JSON.stringify({ title: "" }) });
      expect(invalid.status).toBe(422);
    }
  });

  it("refuses every attempt on the other user's path and never reaches the legacy API", async () => {
    const before = legacyRequests;
    const attempts: [string, string, string?][] = [
      ["GET", `${bob.id}/tasks`], ["POST", `${bob.id}/tasks`, JSON.stringify({ title: "x" })],
      ["GET", `${bob.id}/tasks/${aliceTaskId}`], ["PUT", `${bob.id}/tasks/${aliceTaskId}`, JSON.stringify({ title: "x" })],
      ["DELETE", `${bob.id}/tasks/${aliceTaskId}`], ["PATCH", `${bob.id}/tasks/${aliceTaskId}/complete`],
    ];
    for (const [method, path, body] of attempts) {
      const response = await api(alice, path, { method, body });
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 403 });
    }
    // Alice's own task, addressed through Bob's path with Bob's token: the API would 404, the gateway never asks.
    expect((await api(bob, `${alice.id}/tasks/${aliceTaskId}`)).status).toBe(403);
    expect(legacyRequests).toBe(before);
  });

  it("tells the legacy API who the caller is, whatever the client claims", async () => {
    const response = await api(alice, `${alice.id}/tasks`, { headers: { "x-user-id": bob.id } });
    expect(response.status).toBe(200);
    const list = (await response.json()) as { user_id: string }[];
    expect(list.every((t) => t.user_id === alice.id)).toBe(true);
  });

  it("keeps accepting valid tokens while the auth-service is stopped", async () => {
    await auth.close();
    expect((await api(alice, `${alice.id}/tasks`)).status).toBe(200);
    expect((await api(bob, `${bob.id}/tasks`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/api/auth/get-session`)).status).toBe(502);
  });
});
