/**
 * Attack: keep a new signing key out, so fresh tokens are refused. With
 * `JWT_ROTATION_INTERVAL_S=20` and `JWT_ROTATION_LEAD_S=10`, every token issued for 10 s after
 * the second rotation got 401: the gateway refreshed the JWKS at most every 30 s whatever its
 * max-age said, and the one unknown-kid refetch per 30 s could be used up by a forged token.
 * Now max-age is honoured down to a 1 s floor (the auth-service refuses a lead shorter than
 * 10 s), so a key published ahead is known before it signs whatever forged kids arrive.
 * Also here: a verdict reached with a key retired meanwhile is never cached, and a JWKS that
 * repeats a kid has every key tried.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { decodeProtectedHeader } from "jose";
import { loadAuthServiceConfig, loadGatewayConfig, loadLegacyApiConfig } from "@todo-gateway/config";
import { buildApp as buildAuthService, type AuthServiceApp } from "@todo-gateway/auth-service";
import { buildApp as buildLegacyApi } from "@todo-gateway/legacy-api-stub";
import { KeyResolver } from "../../src/auth/keys.ts";
import { TokenVerifier } from "../../src/auth/verifier.ts";
import { startFixture } from "../helpers/fixture.ts";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { JwksServer, createSigningKey } from "../helpers/keys.ts";
import { AUDIENCE, ISSUER, mintToken } from "../helpers/tokens.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("rotation on the real auth-service, with forged unknown kids flooding in", () => {
  const GATEWAY_ORIGIN = "http://127.0.0.1:8080";
  let legacy: FastifyInstance;
  let auth: AuthServiceApp;
  let gateway: RunningGateway;
  let dataDir: string;

  beforeAll(async () => {
    legacy = await buildLegacyApi(loadLegacyApiConfig({ LOG_LEVEL: "silent" }), { logger: false });
    await legacy.listen({ host: "127.0.0.1", port: 0 });
    const legacyUrl = `http://127.0.0.1:${(legacy.server.address() as AddressInfo).port}`;
    dataDir = mkdtempSync(join(tmpdir(), "rotation-"));
    // The shortest lead the auth-service accepts, rotating as often as it allows.
    auth = await buildAuthService(loadAuthServiceConfig({
      NODE_ENV: "test", BETTER_AUTH_SECRET: randomBytes(32).toString("hex"), DATA_DIR: dataDir, BETTER_AUTH_URL: "http://127.0.0.1:3001",
      LOG_LEVEL: "silent", JWT_ROTATION_INTERVAL_S: "11", JWT_ROTATION_LEAD_S: "10", JWT_LIFETIME_S: "30", JWT_ROTATION_GRACE_S: "90",
    }));
    const authUrl = await auth.listen({ host: "127.0.0.1", port: 0 });
    gateway = await startGateway(
      { LEGACY_API_URL: legacyUrl, AUTH_SERVICE_URL: authUrl, JWT_ISSUER: "http://127.0.0.1:3001", JWT_AUDIENCE: "http://127.0.0.1:3001", LOG_LEVEL: "silent" },
      { now: Date.now },
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await auth?.close().catch(() => undefined);
    await legacy?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("refuses no freshly issued token across several rotations", async () => {
    const signUp = await fetch(`${gateway.url}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: GATEWAY_ORIGIN },
      body: JSON.stringify({ email: `rotation-${randomBytes(4).toString("hex")}@example.test`, password: "correct horse battery staple", name: "R" }),
    });
    const { token: session, user } = (await signUp.json()) as { token: string; user: { id: string } };

    // The forger: distinct unknown kids, as fast as the gateway takes them.
    let flooding = true;
    let forgedAnswers = 0;
    const forger = await createSigningKey();
    const flood = (async () => {
      while (flooding) {
        const forged = await mintToken({ key: forger, sub: user.id, header: { kid: randomBytes(8).toString("hex") }, iat: Math.floor(Date.now() / 1000) });
        const response = await fetch(`${gateway.url}/api/${user.id}/tasks`, { headers: { authorization: `Bearer ${forged}` } });
        await response.arrayBuffer();
        if (response.status === 401) forgedAnswers += 1;
        await sleep(5);
      }
    })();

    const kids = new Set<string>();
    const refused: string[] = [];
    let fresh = 0;
    const until = Date.now() + 36_000; // three rotations and more
    try {
      while (Date.now() < until) {
        const issued = await fetch(`${gateway.url}/api/auth/token`, { headers: { authorization: `Bearer ${session}` } });
        const { token } = (await issued.json()) as { token: string };
        const kid = decodeProtectedHeader(token).kid!;
        kids.add(kid);
        const response = await fetch(`${gateway.url}/api/${user.id}/tasks`, { headers: { authorization: `Bearer ${token}` } });
        fresh += 1;
        if (response.status !== 200) refused.push(`${response.status} for kid ${kid}: ${await response.text()}`);
        else await response.arrayBuffer();
        await sleep(150);
      }
    } finally {
      flooding = false;
      await flood;
    }
    expect(kids.size).toBeGreaterThanOrEqual(4);
    expect(forgedAnswers).toBeGreaterThan(100);
    expect(fresh).toBeGreaterThan(100);
    expect(refused).toEqual([]);
  }, 90_000);
});

describe("the JWKS max-age", () => {
  it("is honoured down to the floor: a key published ahead is known before any token carries it", async () => {
    const fx = await startFixture({}, { unknownKidCooldownMs: 3_600_000 }, { jwksCacheControl: "public, max-age=1" });
    try {
      const next = await createSigningKey();
      fx.jwks.publish(fx.key, next);
      await sleep(2_500);
      fx.jwks.up = false; // and the unknown-kid path is closed by the cooldown: only the refresh can have found it
      const response = await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${await mintToken({ key: next })}` } });
      expect(response.status).toBe(200);
    } finally {
      await fx.close();
    }
  });
});

describe("a key retired while a token is being checked", () => {
  it("never leaves that token's verdict cached as valid", async () => {
    const retiring = await createSigningKey();
    const successor = await createSigningKey();
    const jwks = await new JwksServer([retiring]).start();
    const config = loadGatewayConfig({ JWKS_URL: jwks.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
    const keys = new KeyResolver({ jwksUrl: jwks.url, hmacSecret: undefined, algorithms: ["EdDSA"], unknownKidCooldownMs: 0 });
    const verifier = new TokenVerifier({ jwt: config.jwt, keys, now: () => Date.UTC(2026, 10, 24, 12) });
    try {
      await keys.start();
      // Interleave exactly: the key is in hand, then another request's fetch retires it, then
      // the signature check (still valid against the key in hand) completes.
      const candidates = keys.candidates.bind(keys);
      keys.candidates = async (header) => {
        const found = await candidates(header);
        if (header.kid === retiring.kid) {
          jwks.publish(successor);
          await expect(candidates({ alg: "EdDSA", kid: "someone-else" })).rejects.toThrow("no key matches the token");
        }
        return found;
      };
      const token = await mintToken({ key: retiring, sub: "alice" });
      await verifier.verify(token);
      expect(verifier.cached(token)).toBeUndefined();
      keys.candidates = candidates;
      await expect(verifier.verify(token)).rejects.toThrow("no key matches the token");
    } finally {
      keys.close();
      await jwks.stop();
    }
  });
});

describe("a JWKS that publishes one kid twice for one algorithm", () => {
  it("tries every key under that kid instead of keeping the first", async () => {
    const first = await createSigningKey("EdDSA", "twice");
    const second = await createSigningKey("EdDSA", "twice");
    const fx = await startFixture();
    fx.jwks.publish(first, second);
    const gateway = await startGateway({ JWKS_URL: fx.jwks.url, LEGACY_API_URL: fx.upstream.url, AUTH_SERVICE_URL: fx.upstream.url });
    try {
      for (const key of [first, second]) {
        const response = await fetch(`${gateway.url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${await mintToken({ key })}` } });
        expect(response.status).toBe(200);
      }
      const stranger = await createSigningKey("EdDSA", "twice");
      const forged = await fetch(`${gateway.url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${await mintToken({ key: stranger })}` } });
      expect(forged.status).toBe(401);
      expect(((await forged.json()) as { detail: string }).detail).toBe("signature verification failed");
    } finally {
      await gateway.close();
      await fx.close();
    }
  });
});

describe("a JWKS that would cost the gateway dearly, or empty it", () => {
  // Thousands of keys re-imported on every 1 s refresh stalled the event loop ~0.8 s each time;
  // one kid repeated 500 times made each forged token cost 500 signature tries; an empty key set
  // refused every token at once.
  it.each([
    ["thousands of keys", async () => Promise.all(Array.from({ length: 150 }, () => createSigningKey()))],
    ["one kid repeated many times", async () => Promise.all(Array.from({ length: 10 }, () => createSigningKey("EdDSA", "same-kid")))],
    ["no key at all", async () => []],
  ])("is refused with %s, and the keys in use keep verifying", async (_what, keys) => {
    const fx = await startFixture({}, { minJwksRefreshMs: 100 }, { jwksCacheControl: "max-age=0" });
    try {
      const token = await fx.token("user-1", { claims: { jti: "before" } });
      fx.jwks.publish(...(await keys()));
      await sleep(600);
      const response = await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${await fx.token("user-1", { claims: { jti: "after" } })}` } });
      expect(response.status).toBe(200);
      expect((await fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      const metrics = await (await fetch(`${fx.gateway.url}/metrics`)).text();
      expect(Number(/gateway_jwks_fetches_total\{result="failure"\} (\d+)/.exec(metrics)![1])).toBeGreaterThan(0);
    } finally {
      await fx.close();
    }
  });
});
