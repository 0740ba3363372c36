/**
 * Attack: change a token. Flip bits in the signature or the payload (raise privileges, change
 * `sub`), re-encode a segment non-canonically so the cache sees a "new" token, add padding or
 * the `+` `/` alphabet, send a JWE or a token with extra segments. All are invalid tokens; none
 * reaches the upstream; a replayed forgery costs no second signature check.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, refusal, type Fixture } from "../helpers/fixture.ts";
import { b64url, withSegments } from "../helpers/tokens.ts";

let fx: Fixture;
let good: string;
beforeAll(async () => {
  fx = await startFixture();
  good = await fx.token("user-1");
});
afterAll(() => fx.close());

async function call(token: string, user = "user-1") {
  return fetch(`${fx.gateway.url}/api/${user}/tasks`, { headers: { authorization: `Bearer ${token}` } });
}

function flipChar(segment: string, index: number): string {
  const c = segment[index]!;
  return segment.slice(0, index) + (c === "A" ? "B" : "A") + segment.slice(index + 1);
}

describe("tampered tokens", () => {
  it("accepts the untouched token (control)", async () => {
    expect((await call(good)).status).toBe(200);
  });

  it("refuses a flipped byte anywhere in the signature", async () => {
    const signature = good.split(".")[2]!;
    for (const index of [0, 10, 40, signature.length - 2]) {
      const r = await refusal(await call(withSegments(good, { signature: flipChar(signature, index) })));
      expect(r.status).toBe(401);
      expect(r.body.detail).toBe("signature verification failed");
    }
  });

  it("refuses a non-canonical last character that decodes to the same signature bytes", async () => {
    const signature = good.split(".")[2]!; // 86 chars: the last one carries 2 unused bits
    const last = signature[signature.length - 1]!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sibling = alphabet[alphabet.indexOf(last) + 1]!;
    expect(Buffer.from(signature.slice(0, -1) + sibling, "base64url")).toEqual(Buffer.from(signature, "base64url"));
    const r = await refusal(await call(withSegments(good, { signature: signature.slice(0, -1) + sibling })));
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("token is not strict base64url");
  });

  it("refuses a payload changed to another subject, keeping the signature", async () => {
    const payload = JSON.parse(Buffer.from(good.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    const forged = withSegments(good, { payload: b64url({ ...payload, sub: "user-2" }) });
    const before = fx.forwarded();
    expect((await call(forged, "user-2")).status).toBe(401);
    expect(fx.forwarded()).toBe(before);
  });

  it("refuses padding, the standard alphabet, whitespace and extra segments", async () => {
    const [h, p, s] = good.split(".") as [string, string, string];
    const variants = [
      `${h}.${p}.${s}==`,
      `${h}=.${p}.${s}`,
      `${h}.${p}.${s.replace(/-/g, "+").replace(/_/g, "/")}${/[-_]/.test(s) ? "" : "+"}`,
      `${h}.${p}.${s}.`,
      `${h}.${p}.${s}.${s}`,
      `${h}.${p}`,
      `${h}..${s}`,
      `${h}.${p}.${s} trailing`,
      `${h}.${p}.${s.slice(0, -1)}`,
      "a.b.c.d.e",
      "not-a-jwt",
      "e30.e30.e30",
    ];
    for (const variant of variants) {
      const response = await call(variant);
      expect({ variant, status: response.status }).toEqual({ variant, status: 401 });
    }
  });

  it("refuses a header or payload that is not a JSON object", async () => {
    const [, p, s] = good.split(".") as [string, string, string];
    for (const header of [b64url("[]"), b64url("null"), b64url("not json"), b64url('"EdDSA"')]) {
      expect((await call(`${header}.${p}.${s}`)).status).toBe(401);
    }
  });

  it("answers a replayed forgery from memory without letting it through", async () => {
    const forged = withSegments(good, { signature: flipChar(good.split(".")[2]!, 5) });
    for (let i = 0; i < 5; i++) expect((await call(forged)).status).toBe(401);
    const metrics = await (await fetch(`${fx.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_refusals_total\{reason="invalid_token"\} \d+/);
  });

  it("never echoes the token in the refusal", async () => {
    const forged = withSegments(good, { signature: flipChar(good.split(".")[2]!, 7) });
    const response = await call(forged);
    const text = await response.text();
    const headers = JSON.stringify([...response.headers]);
    for (const part of forged.split(".")) {
      expect(text).not.toContain(part);
      expect(headers).not.toContain(part);
    }
  });
});
