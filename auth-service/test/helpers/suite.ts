/**
 * The behaviour suite, run once per database (sqlite.test.ts, postgres.test.ts): real HTTP on
 * loopback, port 0, tokens verified with jose against the served JWKS. Revocation events and
 * their feed have their own suite (revocation-suite.ts), run the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { Client, countRows, startTestApp, uniqueEmail, type TestApp } from "./app.ts";

export interface Backend {
  readonly name: "sqlite" | "postgres";
  /** Environment for one app: `DATABASE_URL` (a fresh database each call for PostgreSQL). */
  env(): Promise<Record<string, string>>;
  /** Removes what `env()` created. */
  cleanup(): Promise<void>;
}

const ISSUER = "http://127.0.0.1:3001";
const SLIM_CLAIMS = ["aud", "email", "exp", "iat", "iss", "name", "sid", "sub"];

export function defineAuthServiceSuite(backend: Backend): void {
  describe(`auth-service on ${backend.name}`, () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp(await backend.env());
    });
    afterAll(async () => {
      await t?.close();
      await backend.cleanup();
    });

    describe("sign-up and sign-in", () => {
      it("signs up a user and sets a session cookie", async () => {
        const client = new Client(t.url);
        const email = uniqueEmail("signup");
        const res = await client.post("/api/auth/sign-up/email", { email, password: "correct horse battery staple", name: "Ada" });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { user: Record<string, unknown> };
        expect(body.user.email).toBe(email);
        expect(JSON.stringify(body)).not.toMatch(/password|hash/i);
        expect(client.cookie).toMatch(/^better-auth\.session_token=/);
      });

      it("signs in with the right password", async () => {
        const email = uniqueEmail("signin");
        await new Client(t.url).signUp(email, "a long enough password");
        const client = new Client(t.url);
        const res = await client.post("/api/auth/sign-in/email", { email, password: "a long enough password" });
        expect(res.status).toBe(200);
        expect(res.headers.get("set-auth-token")).toBeTruthy();
        expect(client.cookie).toBeDefined();
      });

      it("refuses a wrong password with 401 and leaks nothing", async () => {
        const email = uniqueEmail("wrongpw");
        await new Client(t.url).signUp(email, "the right password");
        const client = new Client(t.url);
        const res = await client.post("/api/auth/sign-in/email", { email, password: "the wrong password" });
        expect(res.status).toBe(401);
        expect(client.cookie).toBeUndefined();
        const text = await res.text();
        expect(JSON.parse(text)).toMatchObject({ code: "INVALID_EMAIL_OR_PASSWORD" });
        expect(text).not.toMatch(/scrypt|hash|stack|at \w+ \(/i);
        // An unknown email gets the very same answer (no account enumeration).
        const unknown = await new Client(t.url).post("/api/auth/sign-in/email", { email: uniqueEmail("nobody"), password: "the wrong password" });
        expect(unknown.status).toBe(401);
        expect(await unknown.text()).toBe(text);
      });

      it("refuses a duplicate email", async () => {
        const email = uniqueEmail("dup");
        await new Client(t.url).signUp(email);
        const before = await countRows(t.app, "user");
        const res = await new Client(t.url).post("/api/auth/sign-up/email", { email, password: "another password 123", name: "Dup" });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(((await res.json()) as { code: string }).code).toMatch(/USER_ALREADY_EXISTS/);
        expect(await countRows(t.app, "user")).toBe(before);
      });
    });

    describe("bad input", () => {
      const cases: Array<[string, string | Record<string, unknown>]> = [
        ["malformed JSON", "{\"email\": "],
        ["missing fields", { email: "x@example.test" }],
        ["an over-long email", { email: `${"a".repeat(300)}@example.test`, password: "correct horse battery", name: "L" }],
        ["an over-long password", { email: "longpw@example.test", password: "p".repeat(5000), name: "L" }],
        ["an over-long name", { email: "longname@example.test", password: "correct horse battery", name: "n".repeat(1000) }],
        ["a body that is not an object", "[1,2,3]"],
      ];
      for (const [label, body] of cases) {
        it(`answers ${label} with a 4xx JSON error and stores nothing`, async () => {
          const before = await countRows(t.app, "user");
          for (const path of ["/api/auth/sign-up/email", "/api/auth/sign-in/email"]) {
            const res = await new Client(t.url).post(path, body);
            expect(res.status, `${path}`).toBeGreaterThanOrEqual(400);
            expect(res.status, `${path}`).toBeLessThan(500);
            expect(res.headers.get("content-type")).toMatch(/application\/json/);
            const text = await res.text();
            expect(() => JSON.parse(text)).not.toThrow();
            expect(text).not.toMatch(/\n\s+at |node_modules/);
          }
          expect(await countRows(t.app, "user")).toBe(before);
        });
      }

      it("refuses a body over 64 KiB with 413 JSON", async () => {
        const res = await new Client(t.url).post("/api/auth/sign-up/email", { email: "big@example.test", password: "x".repeat(70_000), name: "B" });
        expect(res.status).toBe(413);
        expect(await res.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
      });
    });

    describe("tokens", () => {
      it("issues a JWT for the session cookie that jose verifies against the served JWKS", async () => {
        const client = new Client(t.url);
        const { userId } = await client.signUp(uniqueEmail("jwt"), "correct horse battery staple", "Grace");
        const token = await client.jwt();
        const jwks = createRemoteJWKSet(new URL(`${t.url}/api/auth/jwks`));
        const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: ISSUER, audience: ISSUER, algorithms: ["EdDSA"] });
        expect(protectedHeader.alg).toBe("EdDSA");
        const served = (await (await fetch(`${t.url}/api/auth/jwks`)).json()) as JSONWebKeySet;
        expect(served.keys.map((k) => k.kid)).toContain(protectedHeader.kid);
        expect(payload.sub).toBe(userId);
        expect(payload.iss).toBe(ISSUER);
        expect(payload.aud).toBe(ISSUER);
        expect(payload.exp! - payload.iat!).toBe(900);
        expect(payload.email).toMatch(/^jwt-/);
        expect(payload.name).toBe("Grace");
        // A slim payload: the registered claims plus sub, email, name, sid; no user row.
        expect(Object.keys(payload).sort()).toEqual(SLIM_CLAIMS);
        expect(token).not.toMatch(/password|hash/i);
        // sid is this session's id.
        const session = (await (await client.get("/api/auth/get-session")).json()) as { session: { id: string } };
        expect(payload.sid).toBe(session.session.id);
      });

      it("issues a JWT for a bearer session token", async () => {
        const email = uniqueEmail("bearer");
        await new Client(t.url).signUp(email);
        const signIn = await new Client(t.url).post("/api/auth/sign-in/email", { email, password: "correct horse battery staple" });
        const sessionToken = signIn.headers.get("set-auth-token");
        expect(sessionToken).toBeTruthy();
        const client = new Client(t.url);
        client.bearer = sessionToken!;
        const res = await client.get("/api/auth/token");
        expect(res.status).toBe(200);
        const { token } = (await res.json()) as { token: string };
        const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${t.url}/api/auth/jwks`)), { issuer: ISSUER, audience: ISSUER });
        expect(payload.email).toBe(email);
      });

      it("refuses /token without a session", async () => {
        const res = await new Client(t.url).get("/api/auth/token");
        expect(res.status).toBe(401);
      });

      it("serves a JWKS of public keys only, with Cache-Control that fits the lead time", async () => {
        const res = await fetch(`${t.url}/api/auth/jwks`);
        expect(res.status).toBe(200);
        expect(res.headers.get("cache-control")).toBe("public, max-age=300");
        const body = (await res.json()) as JSONWebKeySet;
        expect(body.keys.length).toBeGreaterThanOrEqual(1);
        for (const key of body.keys) {
          expect(key).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
          expect(typeof key.kid).toBe("string");
          expect(typeof key.x).toBe("string");
          expect(key).not.toHaveProperty("d");
        }
      });
    });

    describe("sign-out", () => {
      it("ends the session: /token and /get-session refuse the old cookie", async () => {
        const client = new Client(t.url);
        await client.signUp(uniqueEmail("signout"));
        const cookie = client.cookie;
        const res = await client.post("/api/auth/sign-out");
        expect(res.status).toBe(200);
        const stale = new Client(t.url);
        stale.cookie = cookie;
        expect((await stale.get("/api/auth/token")).status).toBe(401);
        expect(await (await stale.get("/api/auth/get-session")).json()).toBeNull();
      });
    });

    describe("service routes", () => {
      it("answers /healthz with 200 and unknown paths with 404 JSON", async () => {
        expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
        const res = await fetch(`${t.url}/nope`);
        expect(res.status).toBe(404);
        expect(await res.json()).toMatchObject({ code: "NOT_FOUND" });
        const unknownAuth = await fetch(`${t.url}/api/auth/nope`);
        expect(unknownAuth.status).toBe(404);
      });

      it("refuses a cookie-carrying POST from an untrusted origin", async () => {
        const client = new Client(t.url);
        await client.signUp(uniqueEmail("origin"));
        const res = await client.post("/api/auth/sign-out", {}, { origin: "https://evil.example" });
        expect(res.status).toBe(403);
        expect((await client.get("/api/auth/token")).status).toBe(200);
      });
    });

    describe("key rotation (publish-ahead, pinned clock)", () => {
      let r: TestApp;
      let clock = Date.now();
      const at = (offsetS: number) => {
        clock = start + offsetS * 1000;
      };
      const start = Date.now();

      beforeAll(async () => {
        clock = start;
        r = await startTestApp(
          { ...(await backend.env()), JWT_ROTATION_INTERVAL_S: "100", JWT_ROTATION_LEAD_S: "10", JWT_ROTATION_GRACE_S: "90", JWT_LIFETIME_S: "30" },
          { now: () => clock },
        );
      });
      afterAll(async () => {
        await r?.close();
      });

      const jwksKids = async () => {
        const res = await fetch(`${r.url}/api/auth/jwks`);
        expect(res.headers.get("cache-control")).toBe("public, max-age=5");
        const body = (await res.json()) as JSONWebKeySet;
        return { body, kids: body.keys.map((k) => k.kid!) };
      };
      const kidOf = (token: string) => decodeProtectedHeader(token).kid!;

      it("publishes the next key ahead of use and keeps the old one for the grace period", async () => {
        const client = new Client(r.url);
        await client.signUp(uniqueEmail("rotate"));
        const seenInJwksAt = new Map<string, number>();
        const fetchJwks = async () => {
          const result = await jwksKids();
          for (const kid of result.kids) if (!seenInJwksAt.has(kid)) seenInJwksAt.set(kid, clock);
          return result;
        };
        const sign = async () => {
          const token = await client.jwt();
          const kid = kidOf(token);
          // The invariant: a kid is in the JWKS at least the lead time (10 s) before a token carries it,
          // except the very first key, which exists before anything could have fetched the JWKS.
          const published = seenInJwksAt.get(kid);
          expect(published, `kid ${kid} signed before it was ever published`).toBeDefined();
          if (kid !== first) expect(clock - published!).toBeGreaterThanOrEqual(10_000);
          return token;
        };

        const initial = await fetchJwks();
        expect(initial.kids).toHaveLength(1);
        const first = initial.kids[0]!;
        const oldToken = await sign();
        expect(kidOf(oldToken)).toBe(first);

        // 89 s: nothing due yet (the successor is due lead = 10 s before the 100 s term ends).
        at(89);
        expect((await fetchJwks()).kids).toEqual([first]);

        // 91 s: the successor is published, but the current key still signs.
        at(91);
        const pending = await fetchJwks();
        expect(pending.kids).toHaveLength(2);
        const next = pending.kids.find((k) => k !== first)!;
        expect(kidOf(await sign())).toBe(first);
        at(100);
        expect(kidOf(await sign())).toBe(first);

        // 101 s = published at 91 s + lead: the new key signs; both keys are in the JWKS.
        at(101);
        const newToken = await sign();
        expect(kidOf(newToken)).toBe(next);
        const during = await fetchJwks();
        expect(during.kids.sort()).toEqual([first, next].sort());
        const local = createLocalJWKSet(during.body);
        await expect(jwtVerify(oldToken, local, { issuer: ISSUER, audience: ISSUER })).resolves.toBeDefined();
        await expect(jwtVerify(newToken, local, { issuer: ISSUER, audience: ISSUER })).resolves.toBeDefined();

        // Grace (90 s: the shortest allowed, lifetime 30 + the revocation events' 60 s margin) after
        // the new key took over, the old key leaves the JWKS. By then next's own successor is
        // published (due 10 s before next's term ends at 201 s), but does not sign yet.
        at(101 + 89);
        expect((await fetchJwks()).kids).toContain(first);
        at(101 + 91);
        const after = await fetchJwks();
        expect(after.kids).not.toContain(first);
        expect(after.kids).toContain(next);
        await expect(jwtVerify(oldToken, createLocalJWKSet(after.body), { issuer: ISSUER, audience: ISSUER })).rejects.toMatchObject({ code: "ERR_JWKS_NO_MATCHING_KEY" });
        expect(kidOf(await sign())).toBe(next);
      });

      it("keeps signing with the old key after a long outage until the new key has been published for the lead time", async () => {
        // A moment with no successor pending: the third key took over at 202 s, the next one is due at 291 s.
        at(205);
        const client = new Client(r.url);
        await client.signUp(uniqueEmail("outage"));
        const { kids: before } = await jwksKids();
        const signing = kidOf(await client.jwt());
        // Far past the current key's expiry, with no sync in between (as if the service was down).
        at(10_000);
        const token = await client.jwt();
        expect(kidOf(token)).toBe(signing);
        const { kids } = await jwksKids();
        expect(kids).toContain(signing);
        const fresh = kids.filter((k) => !before.includes(k));
        expect(fresh).toHaveLength(1);
        at(10_000 + 11);
        expect(kidOf(await client.jwt())).toBe(fresh[0]);
      });
    });
  });
}
