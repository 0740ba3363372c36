import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGatewayConfig } from "@todo-gateway/config";
import { KeyResolver } from "../../src/auth/keys.ts";
import { TokenVerifier } from "../../src/auth/verifier.ts";
import { NOW_MS } from "../helpers/clock.ts";
import { JwksServer, createSigningKey, type SigningKey } from "../helpers/keys.ts";
import { AUDIENCE, ISSUER, mintToken, withSegments } from "../helpers/tokens.ts";

let key: SigningKey;
let jwks: JwksServer;
let keys: KeyResolver;
let verifier: TokenVerifier;
const CACHE_BYTES = 64 * 1024;

beforeAll(async () => {
  key = await createSigningKey();
  jwks = await new JwksServer([key]).start();
  const config = loadGatewayConfig({ JWKS_URL: jwks.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  keys = new KeyResolver({ jwksUrl: jwks.url, hmacSecret: undefined, algorithms: config.jwt.algorithms });
  await keys.start();
  verifier = new TokenVerifier({ jwt: config.jwt, keys, now: () => NOW_MS, cacheMaxBytes: CACHE_BYTES });
});
afterAll(async () => {
  keys.close();
  await jwks.stop();
});

describe("the verified-token cache under a flood of distinct tokens", () => {
  it("stays within its byte bound and keeps the most recent tokens", async () => {
    const tokens = await Promise.all(Array.from({ length: 400 }, (_, i) => mintToken({ key, sub: `user-${i}` })));
    for (const token of tokens) await verifier.verify(token);
    const bytesPerEntry = tokens[0]!.length * 3 + 200;
    expect(verifier.cachedTokens).toBeLessThanOrEqual(Math.floor(CACHE_BYTES / bytesPerEntry));
    expect(verifier.cachedTokens).toBeGreaterThan(10);
    expect(verifier.cached(tokens[399]!)?.sub).toBe("user-399");
    expect(verifier.cached(tokens[0]!)).toBeUndefined();
  });

  it("never caches forgeries as valid, however many arrive", async () => {
    const good = await mintToken({ key, sub: "victim" });
    const signature = good.split(".")[2]!;
    for (let i = 0; i < 200; i++) {
      const forged = withSegments(good, { signature: `${signature.slice(0, 10)}${(i % 10).toString()}${signature.slice(11)}` });
      if (forged === good) continue;
      await expect(verifier.verify(forged)).rejects.toThrow();
      expect(verifier.cached(forged)).toBeUndefined();
    }
  });
});
