/**
 * Attack: bring your own key. The attacker signs with a key of their own and points the
 * verifier at it through the token header (`jku`, `x5u` URLs; `jwk`, `x5c` embedded keys), or
 * names a `kid` the JWKS does not have. Keys must come only from JWKS_URL; a header naming an
 * outside key must never cause the gateway to fetch it or trust it.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, refusal, type Fixture } from "../helpers/fixture.ts";
import { createSigningKey } from "../helpers/keys.ts";
import { mintToken } from "../helpers/tokens.ts";

let fx: Fixture;
let attackerHits = 0;
const attackerServer = createServer((_req, res) => {
  attackerHits += 1;
  res.writeHead(200, { "content-type": "application/json" }).end("{}");
});
let attackerUrl = "";

beforeAll(async () => {
  fx = await startFixture();
  await new Promise<void>((resolve) => attackerServer.listen(0, "127.0.0.1", resolve));
  attackerUrl = `http://127.0.0.1:${(attackerServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await fx.close();
  attackerServer.close();
});

async function call(token: string) {
  return fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${token}` } });
}

describe("keys named by the token", () => {
  it("ignores jku and x5u and never fetches them", async () => {
    const attacker = await createSigningKey("EdDSA", fx.key.kid); // same kid, attacker's key
    for (const header of [{ jku: `${attackerUrl}/jwks` }, { x5u: `${attackerUrl}/cert.pem` }]) {
      const r = await refusal(await call(await mintToken({ key: attacker, header })));
      expect(r.status).toBe(401);
      expect(r.body.detail).toBe("signature verification failed");
    }
    expect(attackerHits).toBe(0);
  });

  it("ignores an embedded jwk", async () => {
    const attacker = await createSigningKey("EdDSA");
    const token = await mintToken({ key: attacker, header: { jwk: attacker.publicJwk, kid: undefined } });
    expect((await call(token)).status).toBe(401);
  });

  it("ignores an embedded x5c chain", async () => {
    const attacker = await createSigningKey("EdDSA", fx.key.kid);
    const token = await mintToken({ key: attacker, header: { x5c: ["MIIBfake"] } });
    expect((await call(token)).status).toBe(401);
  });

  it("refuses a kid the JWKS does not publish", async () => {
    const stranger = await createSigningKey("EdDSA", "kid-nobody-published");
    const before = fx.forwarded();
    const r = await refusal(await call(await mintToken({ key: stranger })));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("no key matches the token");
    expect(r.challenge).toContain('error="invalid_token"');
    expect(fx.forwarded()).toBe(before);
  });

  it("refuses a token signed by another key under the published kid", async () => {
    const impostor = await createSigningKey("EdDSA", fx.key.kid);
    expect((await call(await mintToken({ key: impostor }))).status).toBe(401);
  });

  it.each([
    ["a number", () => 1],
    ["null", () => null],
    ["an array holding the real kid", () => [fx.key.kid]],
    ["an object", () => ({})],
  ])("refuses a kid that is %s, even with one published key", async (_what, kid) => {
    const token = await mintToken({ key: fx.key, header: { kid: kid() } });
    const r = await refusal(await call(token));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("kid is not a string");
  });
});
