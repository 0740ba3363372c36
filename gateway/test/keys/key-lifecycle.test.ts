import { afterEach, describe, expect, it } from "vitest";
import { startFixture, refusal, type Fixture } from "../helpers/fixture.ts";
import { createSigningKey } from "../helpers/keys.ts";
import { mintToken } from "../helpers/tokens.ts";

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(token: string, user = "user-1") {
  return fetch(`${fx!.gateway.url}/api/${user}/tasks`, { headers: { authorization: `Bearer ${token}` } });
}

describe("key rotation", () => {
  it("accepts a token signed by a just-published key without waiting out the cooldown", async () => {
    fx = await startFixture();
    const fetchesAtStart = fx.jwks.fetches;
    const next = await createSigningKey();
    fx.jwks.publish(fx.key, next);
    const response = await call(await mintToken({ key: next }));
    expect(response.status).toBe(200);
    expect(fx.jwks.fetches).toBe(fetchesAtStart + 1);
    // The old key keeps working during the overlap.
    expect((await call(await fx.token("user-1", { claims: { jti: "old" } }))).status).toBe(200);
  });

  it("learns keys published ahead of use from the background refresh, honouring Cache-Control", async () => {
    fx = await startFixture({}, { minJwksRefreshMs: 100 }, { jwksCacheControl: "public, max-age=0" });
    // The first refresh after start reads the new max-age; publish the next key ahead of use.
    const next = await createSigningKey();
    fx.jwks.publish(fx.key, next);
    await sleep(600);
    const fetchesBeforeUse = fx.jwks.fetches;
    expect(fetchesBeforeUse).toBeGreaterThanOrEqual(2);
    fx.jwks.up = false; // no fetch can help now: the key must already be known
    expect((await call(await mintToken({ key: next }))).status).toBe(200);
  });

  it("drops cached verdicts when a key leaves the JWKS", async () => {
    fx = await startFixture({}, { minJwksRefreshMs: 100 }, { jwksCacheControl: "max-age=0" });
    const token = await fx.token();
    expect((await call(token)).status).toBe(200); // now cached
    const replacement = await createSigningKey();
    fx.jwks.publish(replacement);
    await sleep(600);
    const r = await refusal(await call(token));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("no key matches the token");
  });
});

describe("JWKS outages", () => {
  it("keeps verifying with cached keys while the JWKS endpoint is down", async () => {
    fx = await startFixture();
    fx.jwks.up = false;
    await fx.jwks.stop();
    for (const sub of ["user-1", "user-2", "user-3"]) {
      expect((await call(await fx.token(sub), sub)).status).toBe(200);
    }
  });

  it("answers 503 while no key could ever be loaded, and recovers when the JWKS returns", async () => {
    fx = await startFixture();
    const key = await createSigningKey();
    // A second gateway whose JWKS is down from the start.
    fx.jwks.up = false;
    const { startGateway } = await import("../helpers/gateway.ts");
    const lonely = await startGateway({ JWKS_URL: fx.jwks.url, LEGACY_API_URL: fx.upstream.url, AUTH_SERVICE_URL: fx.upstream.url }, { unknownKidCooldownMs: 0 });
    try {
      const ready = await fetch(`${lonely.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { detail: string }).detail).toContain("signing keys not loaded");
      const token = await mintToken({ key });
      const refused = await fetch(`${lonely.url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${token}` } });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("5");
      fx.jwks.publish(key);
      fx.jwks.up = true;
      const accepted = await fetch(`${lonely.url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${token}` } });
      expect(accepted.status).toBe(200);
      expect((await fetch(`${lonely.url}/readyz`)).status).toBe(200);
    } finally {
      await lonely.close();
    }
  });
});

describe("unknown kid storms", () => {
  it("causes at most one JWKS fetch per cooldown, however many distinct kids arrive", async () => {
    fx = await startFixture({}, { unknownKidCooldownMs: 30_000 });
    const start = fx.jwks.fetches;
    const strangers = await Promise.all(Array.from({ length: 40 }, (_, i) => createSigningKey("EdDSA", `storm-${i}`)));
    const tokens = await Promise.all(strangers.map((key) => mintToken({ key })));
    const first = await Promise.all(tokens.map((token) => call(token)));
    expect(first.every((r) => r.status === 401)).toBe(true);
    expect(fx.jwks.fetches - start).toBe(1);
    const second = await Promise.all(tokens.map((token) => call(token)));
    expect(second.every((r) => r.status === 401)).toBe(true);
    expect(fx.jwks.fetches - start).toBe(1);
  });

  it("fetches again once the cooldown has passed", async () => {
    fx = await startFixture({}, { unknownKidCooldownMs: 200 });
    const start = fx.jwks.fetches;
    const stranger = await createSigningKey("EdDSA", "late");
    expect((await call(await mintToken({ key: stranger }))).status).toBe(401);
    expect((await call(await mintToken({ key: stranger }))).status).toBe(401);
    expect(fx.jwks.fetches - start).toBe(1);
    await sleep(250);
    fx.jwks.publish(fx.key, stranger);
    expect((await call(await mintToken({ key: stranger }))).status).toBe(200);
    expect(fx.jwks.fetches - start).toBe(2);
  });
});

describe("verified-token cache", () => {
  it("checks a repeated token's signature once", async () => {
    fx = await startFixture();
    const token = await fx.token();
    for (let i = 0; i < 5; i++) expect((await call(token)).status).toBe(200);
    const metrics = await (await fetch(`${fx.gateway.url}/metrics`)).text();
    expect(metrics).toContain("gateway_token_cache_misses_total 1\n");
    expect(metrics).toContain("gateway_token_cache_hits_total 4\n");
  });

  it("never caches a failed token as valid", async () => {
    fx = await startFixture();
    const expired = await fx.token("user-1", { iat: 1, lifetimeS: 10 });
    for (let i = 0; i < 3; i++) expect((await call(expired)).status).toBe(401);
    const metrics = await (await fetch(`${fx.gateway.url}/metrics`)).text();
    expect(metrics).toContain("gateway_token_cache_hits_total 0\n");
  });
});

describe("a JWKS that reuses a kid across key types", () => {
  it("verifies each algorithm with the key of its own type under that kid", async () => {
    const rsa = await createSigningKey("RS256", "shared-kid");
    const ed = await createSigningKey("EdDSA", "shared-kid");
    fx = await startFixture({ JWT_ALGORITHMS: "EdDSA,RS256" });
    fx.jwks.publish(rsa, ed);
    const { startGateway } = await import("../helpers/gateway.ts");
    const gateway = await startGateway({ JWKS_URL: fx.jwks.url, LEGACY_API_URL: fx.upstream.url, AUTH_SERVICE_URL: fx.upstream.url, JWT_ALGORITHMS: "EdDSA,RS256" });
    try {
      for (const key of [rsa, ed]) {
        const response = await fetch(`${gateway.url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${await mintToken({ key })}` } });
        expect({ alg: key.alg, status: response.status }).toEqual({ alg: key.alg, status: 200 });
      }
    } finally {
      await gateway.close();
    }
  });
});
