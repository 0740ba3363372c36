/**
 * Attack: a correctly signed token that should not be accepted here: expired, not yet valid,
 * issued in the future, for another issuer or audience, without `exp` or `sub`, with a
 * duplicated claim that two parsers could read differently, or with a `crit` extension the
 * gateway does not understand. The clock is pinned, so every edge is exact.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOW_S } from "../helpers/clock.ts";
import { startFixture, refusal, type Fixture } from "../helpers/fixture.ts";
import { AUDIENCE, ISSUER, b64url } from "../helpers/tokens.ts";

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture({ JWT_CLOCK_TOLERANCE_S: "5" });
});
afterAll(() => fx.close());

async function call(token: string, user = "user-1") {
  return fetch(`${fx.gateway.url}/api/${user}/tasks`, { headers: { authorization: `Bearer ${token}` } });
}

/** Signs an arbitrary payload text with the published key (for payloads jose would not produce). */
async function signRaw(payloadJson: string, header: object = { alg: "EdDSA", kid: fx.key.kid }): Promise<string> {
  const { sign } = await import("node:crypto");
  const { KeyObject } = await import("node:crypto");
  const input = `${b64url(header)}.${Buffer.from(payloadJson).toString("base64url")}`;
  const signature = sign(null, Buffer.from(input), KeyObject.from(fx.key.privateKey as Parameters<typeof KeyObject.from>[0]));
  return `${input}.${signature.toString("base64url")}`;
}

describe("time claims", () => {
  it("refuses an expired token beyond the tolerance", async () => {
    const r = await refusal(await call(await fx.token("user-1", { iat: NOW_S - 1000, lifetimeS: 994 })));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("token expired");
    expect(r.challenge).toBe('Bearer realm="todo-gateway", error="invalid_token", error_description="token expired"');
  });

  it("accepts a token expired by less than the clock tolerance", async () => {
    expect((await call(await fx.token("user-1", { iat: NOW_S - 1000, lifetimeS: 997 }))).status).toBe(200);
  });

  it("refuses a token whose nbf is beyond the tolerance", async () => {
    const r = await refusal(await call(await fx.token("user-1", { claims: { nbf: NOW_S + 60 } })));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("token not yet valid");
  });

  it("accepts a token whose nbf is within the tolerance", async () => {
    expect((await call(await fx.token("user-1", { claims: { nbf: NOW_S + 3 } }))).status).toBe(200);
  });

  it("refuses a token issued in the future", async () => {
    const r = await refusal(await call(await fx.token("user-1", { iat: NOW_S + 3600 })));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("token issued in the future");
  });

  it("refuses a token without exp", async () => {
    const r = await refusal(await call(await signRaw(JSON.stringify({ sub: "user-1", iss: ISSUER, aud: AUDIENCE, iat: NOW_S }))));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("missing exp claim");
  });

  it.each([["a string", '"9999999999"'], ["null", "null"], ["an object", "{}"]])("refuses exp as %s", async (_what, exp) => {
    const text = `{"sub":"user-1","iss":"${ISSUER}","aud":"${AUDIENCE}","exp":${exp}}`;
    expect((await call(await signRaw(text))).status).toBe(401);
  });

  // JSON.parse reads 1e400 as Infinity, which passes every numeric comparison: an exp that never comes.
  it.each([
    ["exp", `"exp":1e400`],
    ["iat", `"exp":${NOW_S + 60},"iat":-1e400`],
    ["nbf", `"exp":${NOW_S + 60},"nbf":-1e400`],
  ])("refuses a non-finite %s", async (claim, dates) => {
    const r = await refusal(await call(await signRaw(`{"sub":"user-1","iss":"${ISSUER}","aud":"${AUDIENCE}",${dates}}`)));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe(`invalid ${claim} claim`);
  });
});

describe("issuer, audience and subject", () => {
  it("refuses another issuer", async () => {
    const r = await refusal(await call(await fx.token("user-1", { claims: { iss: "http://evil.test" } })));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("unexpected issuer");
  });

  it("refuses another audience", async () => {
    const r = await refusal(await call(await fx.token("user-1", { claims: { aud: "http://other-api.test" } })));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("unexpected audience");
  });

  it("accepts an audience array that contains ours, refuses one that does not", async () => {
    expect((await call(await fx.token("user-1", { claims: { aud: ["x", AUDIENCE] } }))).status).toBe(200);
    expect((await call(await fx.token("user-1", { claims: { aud: ["x", "y"] } }))).status).toBe(401);
  });

  it("refuses a token without sub, with an empty sub, or a non-string sub", async () => {
    for (const sub of [undefined, "", 42, ["user-1"]]) {
      const text = JSON.stringify({ sub, iss: ISSUER, aud: AUDIENCE, iat: NOW_S, exp: NOW_S + 60 });
      const r = await refusal(await call(await signRaw(text)));
      expect(r.status).toBe(401);
    }
  });

  it("refuses a sub that no X-User-Id header could carry", async () => {
    for (const sub of ["line\nbreak", "tab-first\t", "\u2028", "日本", " padded", "nul\u0000"]) {
      // Refused either by the guard (an encoded control character in the path) or by the verifier.
      const response = await call(await fx.token(sub), encodeURIComponent(sub));
      expect([400, 401], JSON.stringify(sub)).toContain(response.status);
    }
    const r = await refusal(await call(await fx.token("日本"), encodeURIComponent("日本")));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("sub cannot be passed upstream");
  });

  it("accepts a sub of visible ASCII with inner spaces", async () => {
    for (const sub of ["user 1", "a|b~c", "joe doe@x"]) {
      expect((await call(await fx.token(sub), encodeURIComponent(sub))).status).toBe(200);
    }
  });

  // An upstream decoding X-User-Id as UTF-8 reads the Latin-1 bytes of "Ã©" as "é", another
  // user; one that trims reads "alice\u00a0" as "alice". Only visible ASCII crosses.
  it.each([["Latin-1", "jöe"], ["UTF-8 read as Latin-1", "Ã©"], ["a no-break space at the end", "alice\u00a0"], ["a next-line control", "alice\u0085"]])(
    "refuses a sub with %s, which an upstream could read as someone else",
    async (_what, sub) => {
      const r = await refusal(await call(await fx.token(sub), encodeURIComponent(sub)));
      expect(r.status).toBe(401);
      expect(r.body.detail).toBe("sub cannot be passed upstream");
    },
  );

  it("refuses a payload that names sub twice", async () => {
    const text = `{"sub":"user-2","iss":"${ISSUER}","aud":"${AUDIENCE}","exp":${NOW_S + 60},"sub":"user-1"}`;
    const before = fx.forwarded();
    const r = await refusal(await call(await signRaw(text)));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("token payload has a duplicate member");
    expect(fx.forwarded()).toBe(before);
  });

  it("refuses a duplicate hidden behind a unicode escape", async () => {
    const text = `{"sub":"user-2","iss":"${ISSUER}","aud":"${AUDIENCE}","exp":${NOW_S + 60},"s\\u0075b":"user-1"}`;
    expect((await call(await signRaw(text))).status).toBe(401);
  });

  it("does not mistake equal names in nested objects for duplicates", async () => {
    const text = `{"sub":"user-1","iss":"${ISSUER}","aud":"${AUDIENCE}","exp":${NOW_S + 60},"ctx":{"sub":"x","a":[{"sub":1}]}}`;
    expect((await call(await signRaw(text))).status).toBe(200);
  });

  it("refuses a header that names alg twice", async () => {
    const token = await signRaw(JSON.stringify({ sub: "user-1", iss: ISSUER, aud: AUDIENCE, exp: NOW_S + 60 }));
    const [, payload, signature] = token.split(".");
    const header = Buffer.from(`{"alg":"none","kid":"${fx.key.kid}","alg":"EdDSA"}`).toString("base64url");
    expect((await call(`${header}.${payload}.${signature}`)).status).toBe(401);
  });
});

describe("critical header extensions", () => {
  const payload = () => JSON.stringify({ sub: "user-1", iss: ISSUER, aud: AUDIENCE, iat: NOW_S, exp: NOW_S + 60 });

  it("refuses a crit extension the gateway does not understand", async () => {
    const token = await signRaw(payload(), { alg: "EdDSA", kid: fx.key.kid, crit: ["exp-ext"], "exp-ext": true });
    const r = await refusal(await call(token));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("unsupported token header");
  });

  it("refuses a malformed crit", async () => {
    for (const crit of [[], "exp-ext", [1], ["alg"]]) {
      const token = await signRaw(payload(), { alg: "EdDSA", kid: fx.key.kid, crit });
      expect((await call(token)).status).toBe(401);
    }
  });

  it("refuses b64=false (unencoded payload) in a JWT", async () => {
    const token = await signRaw(payload(), { alg: "EdDSA", kid: fx.key.kid, crit: ["b64"], b64: false });
    expect((await call(token)).status).toBe(401);
  });

  it("accepts a well-formed token with the same key (control)", async () => {
    expect((await call(await signRaw(payload()))).status).toBe(200);
  });
});
