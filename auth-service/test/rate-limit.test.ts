/**
 * Sign-in / sign-up throttling keys on the real client. The gateway forwards
 * `X-Forwarded-For: <whatever the client sent>, <client socket address>`, so only the LAST
 * entry can be trusted: a client that varies the first entries must not get fresh buckets,
 * and neither may one that sends the service's internal client-IP header itself.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_IP_HEADER } from "../src/auth.ts";
import { Client, startTestApp, type TestApp } from "./helpers/app.ts";

describe("rate limiting in production", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: "production", BETTER_AUTH_SECRET: randomBytes(32).toString("hex") });
  });
  afterAll(async () => {
    await t?.close();
  });

  const signIn = (xff: string, extra: Record<string, string> = {}) =>
    new Client(t.url).post("/api/auth/sign-in/email", { email: "nobody@example.test", password: "wrong password 123" }, { "x-forwarded-for": xff, ...extra });

  it("is on, and keys on the last X-Forwarded-For entry (the address the gateway appended)", async () => {
    expect(t.config.rateLimit).toBe(true);
    for (let i = 0; i < 3; i++) expect((await signIn(`198.51.100.${i}, 10.0.0.1`)).status).toBe(401);
    // Same real client, a different spoofed first entry: still throttled.
    const throttled = await signIn("198.51.100.99, 10.0.0.1");
    expect(throttled.status).toBe(429);
    expect(await throttled.json()).toMatchObject({ message: expect.stringMatching(/too many requests/i) });
    // A client-sent copy of the internal header is replaced, not trusted.
    expect((await signIn("10.0.0.1", { [CLIENT_IP_HEADER]: "192.0.2.77" })).status).toBe(429);
    // Another real client, even with the same spoofed first entry, has its own bucket.
    expect((await signIn("198.51.100.0, 10.0.0.2")).status).toBe(401);
  });

  it("keys on the gateway's X-Real-IP when it sends one (the client behind a trusted load balancer)", async () => {
    // Behind a load balancer every request's last X-Forwarded-For entry is the balancer's:
    // the gateway resolves the client (TRUSTED_PROXIES) and says who it is in X-Real-IP.
    const behind = (client: string) => signIn("203.0.113.50, 10.9.9.9", { "x-real-ip": client });
    for (let i = 0; i < 3; i++) expect((await behind("192.0.2.10")).status).toBe(401);
    expect((await behind("192.0.2.10")).status).toBe(429);
    expect((await behind("192.0.2.11")).status).toBe(401);
  });

  it("throttles sign-up per client too", async () => {
    const signUp = (i: number, ip: string) =>
      new Client(t.url).post("/api/auth/sign-up/email", { email: `rl-${i}-${Date.now()}@example.test`, password: "correct horse battery", name: "R" }, { "x-forwarded-for": ip });
    for (let i = 0; i < 3; i++) expect((await signUp(i, "10.0.1.1")).status).toBe(200);
    expect((await signUp(3, "10.0.1.1")).status).toBe(429);
    expect((await signUp(4, "10.0.1.2")).status).toBe(200);
  });
});

describe("rate limiting outside production", () => {
  it("is off in test and development", async () => {
    const t = await startTestApp();
    try {
      expect(t.config.rateLimit).toBe(false);
      for (let i = 0; i < 5; i++) {
        const res = await new Client(t.url).post("/api/auth/sign-in/email", { email: "nobody@example.test", password: "wrong password 123" }, { "x-forwarded-for": "10.0.0.1" });
        expect(res.status).toBe(401);
      }
    } finally {
      await t.close();
    }
  });
});
