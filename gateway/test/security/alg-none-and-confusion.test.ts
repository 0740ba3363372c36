/**
 * Attack: choose the algorithm. A token with `alg: none` and no signature, or one "signed"
 * with HS256 using the server's *public* key as the HMAC secret (the classic alg-confusion
 * attack on verifiers that take the key type from the token), must be refused: the algorithm
 * must be on the allow-list and fit the key's type, and HS* never uses a JWKS key.
 */
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOW_S } from "../helpers/clock.ts";
import { startFixture, refusal, type Fixture } from "../helpers/fixture.ts";
import { AUDIENCE, ISSUER, b64url } from "../helpers/tokens.ts";

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(() => fx.close());

const claims = { sub: "user-1", iss: ISSUER, aud: AUDIENCE, iat: NOW_S, exp: NOW_S + 600 };

function hs256(header: object, payload: object, secret: string | Buffer): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

async function call(token: string) {
  return fetch(`${fx.gateway.url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${token}` } });
}

describe("algorithm attacks", () => {
  it("refuses alg none with an empty signature", async () => {
    const before = fx.forwarded();
    const response = await call(`${b64url({ alg: "none" })}.${b64url(claims)}.`);
    const r = await refusal(response);
    expect(r.status).toBe(401);
    expect(r.challenge).toMatch(/error="invalid_token"/);
    expect(fx.forwarded()).toBe(before);
  });

  it.each(["none", "None", "NONE", "nOnE"])("refuses alg %s even with a signature segment", async (alg) => {
    const response = await call(`${b64url({ alg, kid: fx.key.kid })}.${b64url(claims)}.${b64url("sig")}`);
    expect(response.status).toBe(401);
  });

  it("refuses HS256 signed with the published public key (alg confusion)", async () => {
    const before = fx.forwarded();
    const publicJwkText = JSON.stringify(fx.key.publicJwk);
    for (const secret of [publicJwkText, fx.key.publicJwk.x!, Buffer.from(fx.key.publicJwk.x!, "base64url")]) {
      const r = await refusal(await call(hs256({ alg: "HS256", kid: fx.key.kid }, claims, secret)));
      expect(r.status).toBe(401);
      expect(r.body.detail).toBe("algorithm not allowed");
    }
    expect(fx.forwarded()).toBe(before);
  });

  it("refuses an allowed-looking algorithm that does not fit the key type", async () => {
    // ES256 is not accepted here, and the published key is Ed25519 anyway.
    const token = await fx.token();
    const [, payload, signature] = token.split(".");
    const response = await call(`${b64url({ alg: "ES256", kid: fx.key.kid })}.${payload}.${signature}`);
    expect(response.status).toBe(401);
  });

  it("refuses a header without alg", async () => {
    const token = await fx.token();
    const [, payload, signature] = token.split(".");
    expect((await call(`${b64url({ kid: fx.key.kid })}.${payload}.${signature}`)).status).toBe(401);
  });
});

describe("HS256 and a JWKS side by side", () => {
  let mixed: Fixture;
  const secret = "a-shared-secret-for-older-deployments-0123456789";
  beforeAll(async () => {
    mixed = await startFixture({ JWT_ALGORITHMS: "EdDSA,HS256", BETTER_AUTH_SECRET: secret });
  });
  afterAll(() => mixed.close());

  it("refuses HS256 signed with the public key even when HS256 is accepted", async () => {
    const token = hs256({ alg: "HS256", kid: mixed.key.kid }, claims, JSON.stringify(mixed.key.publicJwk));
    const response = await fetch(`${mixed.gateway.url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${token}` } });
    const r = await refusal(response);
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("signature verification failed");
  });

  it("accepts HS256 signed with the shared secret and EdDSA from the JWKS", async () => {
    const hsToken = hs256({ alg: "HS256", typ: "JWT" }, claims, secret);
    for (const token of [hsToken, await mixed.token()]) {
      const response = await fetch(`${mixed.gateway.url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
    }
  });
});
