/**
 * Attack: harvest sessions from a service that should never see them. A browser sends Better
 * Auth's session cookie with every request to the gateway's origin, the task API included; a
 * service that logs its request headers (or is compromised) would collect live sessions. The
 * auth-service's cookies (`better-auth.*`, with `__Secure-` / `__Host-` prefixes) reach the
 * auth-service only; every other cookie passes as sent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { JwksServer, createSigningKey, type SigningKey } from "../helpers/keys.ts";
import { mintToken } from "../helpers/tokens.ts";
import { RecordingUpstream } from "../helpers/upstream.ts";

let key: SigningKey;
let jwks: JwksServer;
let legacy: RecordingUpstream;
let auth: RecordingUpstream;
let gateway: RunningGateway;
beforeAll(async () => {
  key = await createSigningKey();
  jwks = await new JwksServer([key]).start();
  legacy = await new RecordingUpstream().start();
  auth = await new RecordingUpstream().start();
  gateway = await startGateway({ JWKS_URL: jwks.url, LEGACY_API_URL: legacy.url, AUTH_SERVICE_URL: auth.url });
});
afterAll(async () => {
  await gateway.close();
  await Promise.all([jwks.stop(), legacy.stop(), auth.stop()]);
});

const cookie = "theme=dark; better-auth.session_token=abc.def; __Secure-better-auth.session_data=xyz; better-auth.dont_remember=1; lang=en";

describe("Better Auth's cookies", () => {
  it("never reach the task API; other cookies do", async () => {
    const token = await mintToken({ key, sub: "alice" });
    const response = await fetch(`${gateway.url}/api/alice/tasks`, { headers: { authorization: `Bearer ${token}`, cookie } });
    expect(response.status).toBe(200);
    expect(legacy.last!.headers.cookie).toBe("theme=dark; lang=en");
  });

  it("are removed however the header spells them: commas, quotes, case", async () => {
    const token = await mintToken({ key, sub: "alice" });
    await fetch(`${gateway.url}/api/alice/tasks`, {
      headers: { authorization: `Bearer ${token}`, cookie: 'a=1, better-auth.session_token=abc; "better-auth.session_data"=x; BETTER-AUTH.dont_remember=1; b=2' },
    });
    expect(legacy.last!.headers.cookie).toBe("a=1; b=2");
  });

  it("drop the Cookie header entirely when nothing else is left", async () => {
    const token = await mintToken({ key, sub: "alice" });
    await fetch(`${gateway.url}/api/alice/tasks`, { headers: { authorization: `Bearer ${token}`, cookie: "better-auth.session_token=abc.def" } });
    expect(legacy.last!.headers.cookie).toBeUndefined();
  });

  it("reach the auth-service unchanged", async () => {
    const response = await fetch(`${gateway.url}/api/auth/get-session`, { headers: { cookie } });
    expect(response.status).toBe(200);
    expect(auth.last!.headers.cookie).toBe(cookie);
  });
});
