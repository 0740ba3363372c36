import { createLocalJWKSet, errors, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { BENCH_AUDIENCE, BENCH_ISSUER, FORGERIES_PER_TOKEN, forgeToken, startJwksServer, TokenIssuer, userId } from "../src/tokens.ts";

let issuer: TokenIssuer;
beforeAll(async () => {
  issuer = await TokenIssuer.create();
});

const verify = (token: string) =>
  jwtVerify(token, createLocalJWKSet({ keys: [...issuer.jwks.keys] }), { issuer: BENCH_ISSUER, audience: BENCH_AUDIENCE, algorithms: ["EdDSA"], requiredClaims: ["exp"] });

describe("TokenIssuer", () => {
  it("mints EdDSA tokens with its kid that verify against its JWKS, with sub, iss, aud, iat and exp", async () => {
    const token = await issuer.mint("user-1");
    const { payload, protectedHeader } = await verify(token);
    expect(protectedHeader).toEqual({ alg: "EdDSA", kid: issuer.kid });
    expect(payload).toMatchObject({ sub: "user-1", iss: BENCH_ISSUER, aud: BENCH_AUDIENCE });
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it("mints a distinct token on every call, even for the same user", async () => {
    const tokens = await issuer.mintMany(Array.from({ length: 600 }, () => "same-user"));
    expect(new Set(tokens).size).toBe(600);
  });

  it("publishes only the public key", () => {
    expect(issuer.jwks.keys).toHaveLength(1);
    expect(issuer.jwks.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig", kid: issuer.kid });
    expect(issuer.jwks.keys[0]).not.toHaveProperty("d");
  });
});

describe("forgeToken", () => {
  it("keeps header and payload and breaks only the signature", async () => {
    const token = await issuer.mint("victim");
    const forged = forgeToken(token, 0);
    expect(forged).not.toBe(token);
    expect(forged.split(".").slice(0, 2)).toEqual(token.split(".").slice(0, 2));
    await expect(verify(forged)).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  it("gives a different strict-base64url forgery for every variant", async () => {
    const token = await issuer.mint("victim");
    const forgeries = new Set<string>();
    for (let variant = 0; variant < FORGERIES_PER_TOKEN; variant += 97) {
      const forged = forgeToken(token, variant);
      expect(forged.split(".")[2]).toMatch(/^[A-Za-z0-9_-]{86}$/);
      expect(Buffer.from(forged.split(".")[2]!, "base64url").toString("base64url")).toBe(forged.split(".")[2]);
      forgeries.add(forged);
    }
    expect(forgeries.size).toBe(Math.ceil(FORGERIES_PER_TOKEN / 97));
    expect(forgeries.has(token)).toBe(false);
  });
});

describe("userId", () => {
  it("makes 32-character ids of letters and digits that stay plain path segments", () => {
    const ids = Array.from({ length: 50 }, (_, i) => userId("u", i));
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]{32}$/);
    expect(new Set(ids).size).toBe(50);
  });
});

describe("startJwksServer", () => {
  it("serves the key set with a long max-age and counts the fetches", async () => {
    const server = await startJwksServer(issuer.jwks);
    try {
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      expect(response.headers.get("cache-control")).toBe("max-age=3600");
      expect(await response.json()).toEqual(issuer.jwks);
      expect(server.fetches()).toBe(1);
    } finally {
      await server.close();
    }
  });
});
