/**
 * Revocation events (docs/revocation.md), run once per database (sqlite.test.ts,
 * postgres.test.ts). Every way a session or a user ends must leave a signed event in the
 * outbox, written by the request itself, that a gateway verifies with nothing but the
 * service's JWKS.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from "jose";
import { REVOCATION_EVENT_AUDIENCE, REVOCATION_EVENT_TYP, REVOCATION_RETENTION_MARGIN_S } from "@todo-gateway/config";
import type { RecordedRevocation } from "../../src/revocation/index.ts";
import { Client, startTestApp, uniqueEmail, type TestApp } from "./app.ts";
import { allowOutboxWrites, eventsOf, outboxEvents, refuseOutboxWrites, verifyEvent, type VerifiedEvent } from "./revocations.ts";
import type { Backend } from "./suite.ts";

const PASSWORD = "correct horse battery staple";
const EVENT_CLAIMS = ["aud", "exp", "iat", "iss", "jti", "kind", "reason", "uid"];

async function sessionOf(client: Client): Promise<{ id: string; token: string }> {
  const body = (await (await client.get("/api/auth/get-session")).json()) as { session: { id: string; token: string } } | null;
  if (body === null) throw new Error("no session");
  return body.session;
}

async function signIn(url: string, email: string, password = PASSWORD): Promise<Client> {
  const client = new Client(url);
  const res = await client.post("/api/auth/sign-in/email", { email, password });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status}`);
  return client;
}

/** The session events of a list, as `sid → reason`. */
const sessions = (events: readonly VerifiedEvent[]) =>
  Object.fromEntries(events.flatMap((e) => (e.claims.kind === "session" ? [[e.claims.sid, e.claims.reason]] : [])));
const users = (events: readonly VerifiedEvent[]) => events.filter((e) => e.claims.kind === "user").map((e) => e.claims);
const nowS = () => Math.floor(Date.now() / 1000);

export function defineRevocationSuite(backend: Backend): void {
  describe(`revocation events on ${backend.name}`, () => {
    let t: TestApp;
    const hooked: RecordedRevocation[] = [];

    beforeAll(async () => {
      t = await startTestApp(await backend.env(), { onRevocation: (event) => void hooked.push(event) });
    });
    afterAll(async () => {
      await t?.close();
      await backend.cleanup();
    });

    describe("each way of ending writes its events", () => {
      it("sign-out: one session event, signed with the current key, that verifies against the service's own JWKS", async () => {
        const client = new Client(t.url);
        const { userId } = await client.signUp(uniqueEmail("ev-signout"));
        const { id: sid } = await sessionOf(client);
        const accessToken = await client.jwt();
        const before = nowS();
        expect((await client.post("/api/auth/sign-out")).status).toBe(200);
        const after = nowS();

        // Written by the request itself: there the moment the answer arrives.
        const events = await eventsOf(t, userId);
        expect(events.map((e) => e.claims)).toEqual([{ kind: "session", uid: userId, sid, reason: "sign-out" }]);
        const [event] = events as [VerifiedEvent];
        const jwks = (await (await fetch(`${t.url}/api/auth/jwks`)).json()) as JSONWebKeySet;
        expect(event.header).toEqual({ alg: "EdDSA", kid: expect.any(String), typ: REVOCATION_EVENT_TYP });
        expect(jwks.keys.map((k) => k.kid)).toContain(event.header.kid);
        // The key that signs access tokens signs the events.
        expect(event.header.kid).toBe(JSON.parse(Buffer.from(accessToken.split(".")[0]!, "base64url").toString()).kid);
        expect(Object.keys(event.payload).sort()).toEqual([...EVENT_CLAIMS, "sid"].sort());
        expect(event.payload).toMatchObject({ iss: t.config.jwt.issuer, aud: REVOCATION_EVENT_AUDIENCE });
        expect(event.payload.sub).toBeUndefined();
        expect(event.payload.iat).toBeGreaterThanOrEqual(before);
        expect(event.payload.iat).toBeLessThanOrEqual(after);
        expect(event.payload.exp! - event.payload.iat!).toBe(t.config.jwt.lifetimeS + REVOCATION_RETENTION_MARGIN_S);
        // The hook point sees the same event, after it was written.
        await vi.waitFor(() => expect(hooked.find((h) => h.jti === event.payload.jti)).toMatchObject({ token: event.token, claims: event.claims }));
      });

      it("an event never passes as an access token, and an access token never passes as an event", async () => {
        const client = new Client(t.url);
        const { userId } = await client.signUp(uniqueEmail("ev-confusion"));
        const accessToken = await client.jwt();
        await client.post("/api/auth/sign-out");
        const [event] = await eventsOf(t, userId);
        const jwks = createRemoteJWKSet(new URL(`${t.url}/api/auth/jwks`));
        const asAccess = { issuer: t.config.jwt.issuer, audience: t.config.jwt.audience };
        await expect(jwtVerify(event!.token, jwks, asAccess)).rejects.toMatchObject({ code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "aud" });
        await expect(jwtVerify(accessToken, jwks, { ...asAccess, audience: REVOCATION_EVENT_AUDIENCE, typ: REVOCATION_EVENT_TYP })).rejects.toMatchObject({ code: "ERR_JWT_CLAIM_VALIDATION_FAILED" });
        await expect(verifyEvent(t, accessToken)).rejects.toThrow();
      });

      it("revoke-session: one event for that session only", async () => {
        const email = uniqueEmail("ev-revoke-one");
        const main = new Client(t.url);
        const { userId } = await main.signUp(email);
        const other = await sessionOf(await signIn(t.url, email));
        expect((await main.post("/api/auth/revoke-session", { token: other.token })).status).toBe(200);
        expect(sessions(await eventsOf(t, userId))).toEqual({ [other.id]: "revoke-session" });
        expect(users(await eventsOf(t, userId))).toEqual([]);
      });

      it("revoke-other-sessions: one event per other session, none for the caller's", async () => {
        const email = uniqueEmail("ev-revoke-others");
        const main = new Client(t.url);
        const { userId } = await main.signUp(email);
        const others = await Promise.all([0, 1, 2].map(async () => sessionOf(await signIn(t.url, email))));
        expect((await main.post("/api/auth/revoke-other-sessions")).status).toBe(200);
        expect(sessions(await eventsOf(t, userId))).toEqual(Object.fromEntries(others.map((s) => [s.id, "revoke-other-sessions"])));
        expect(users(await eventsOf(t, userId))).toEqual([]);
        expect((await main.get("/api/auth/token")).status).toBe(200);
      });

      it("revoke-other-sessions: an event for every session, also past Better Auth's default read limit of 100", async () => {
        const main = new Client(t.url);
        const { userId } = await main.signUp(uniqueEmail("ev-many"));
        const context = await t.app.auth.$context;
        const created: string[] = [];
        for (let i = 0; i < 120; i++) created.push((await context.internalAdapter.createSession(userId))!.id);
        expect((await main.post("/api/auth/revoke-other-sessions")).status).toBe(200);
        expect(Object.keys(sessions(await eventsOf(t, userId))).sort()).toEqual(created.sort());
      });

      it("revoke-sessions: an event per session and a user event with before = now", async () => {
        const email = uniqueEmail("ev-revoke-all");
        const main = new Client(t.url);
        const { userId } = await main.signUp(email);
        const mine = await sessionOf(main);
        const other = await sessionOf(await signIn(t.url, email));
        const before = nowS();
        expect((await main.post("/api/auth/revoke-sessions")).status).toBe(200);
        const events = await eventsOf(t, userId);
        expect(sessions(events)).toEqual({ [mine.id]: "revoke-sessions", [other.id]: "revoke-sessions" });
        const [user] = users(events);
        expect(user).toEqual({ kind: "user", uid: userId, before: expect.any(Number), reason: "revoke-sessions" });
        expect(user!.kind === "user" && user!.before).toBeGreaterThanOrEqual(before);
        expect(user!.kind === "user" && user!.before).toBeLessThanOrEqual(nowS());
      });

      it("delete-user: an event per session, then a user event", async () => {
        const email = uniqueEmail("ev-delete");
        const main = new Client(t.url);
        const { userId } = await main.signUp(email, "delete me please 1");
        const mine = await sessionOf(main);
        const other = await sessionOf(await signIn(t.url, email, "delete me please 1"));
        expect((await main.post("/api/auth/delete-user", { password: "delete me please 1" })).status).toBe(200);
        const events = await eventsOf(t, userId);
        expect(sessions(events)).toEqual({ [mine.id]: "delete-user", [other.id]: "delete-user" });
        expect(users(events)).toEqual([{ kind: "user", uid: userId, before: expect.any(Number), reason: "delete-user" }]);
        // Written in that order: the sessions ended before the user did.
        const written = new Map((await t.app.revocations.outbox.all()).map((row) => [row.token, row.createdAt.getTime()]));
        const userWritten = written.get(events.find((e) => e.claims.kind === "user")!.token)!;
        for (const e of events) expect(written.get(e.token)!).toBeLessThanOrEqual(userWritten);
      });

      it("change-password with revokeOtherSessions: an event per old session and a user event; the new session's tokens stay good", async () => {
        const email = uniqueEmail("ev-password");
        const main = new Client(t.url);
        const { userId } = await main.signUp(email);
        const mine = await sessionOf(main);
        const other = await sessionOf(await signIn(t.url, email));
        const res = await main.post("/api/auth/change-password", { currentPassword: PASSWORD, newPassword: "an entirely new password", revokeOtherSessions: true });
        expect(res.status).toBe(200);
        const events = await eventsOf(t, userId);
        expect(sessions(events)).toEqual({ [mine.id]: "password-change", [other.id]: "password-change" });
        const [user] = users(events);
        expect(user).toEqual({ kind: "user", uid: userId, before: expect.any(Number), reason: "password-change" });
        // The session change-password hands back is new, and its tokens are not before `before`.
        const fresh = await sessionOf(main);
        expect(Object.keys(sessions(events))).not.toContain(fresh.id);
        const { iat } = decodeJwt(await main.jwt());
        expect(iat).toBeGreaterThanOrEqual(user!.kind === "user" ? user!.before : Infinity);
      });

      it("change-password without revokeOtherSessions, or refused, writes nothing", async () => {
        const email = uniqueEmail("ev-password-keep");
        const main = new Client(t.url);
        const { userId } = await main.signUp(email);
        await signIn(t.url, email);
        expect((await main.post("/api/auth/change-password", { currentPassword: PASSWORD, newPassword: "another new password 1" })).status).toBe(200);
        const wrong = await main.post("/api/auth/change-password", { currentPassword: "not the password", newPassword: "another new password 2", revokeOtherSessions: true });
        expect(wrong.status).toBe(400);
        expect(await eventsOf(t, userId)).toEqual([]);
      });

      it("a refused request writes nothing (untrusted origin, wrong password)", async () => {
        const email = uniqueEmail("ev-refused");
        const main = new Client(t.url);
        const { userId } = await main.signUp(email);
        expect((await main.post("/api/auth/revoke-sessions", {}, { origin: "https://evil.example" })).status).toBe(403);
        expect((await main.post("/api/auth/sign-out", {}, { origin: "https://evil.example" })).status).toBe(403);
        expect((await main.post("/api/auth/delete-user", { password: "not my password" })).status).toBe(400);
        expect(await eventsOf(t, userId)).toEqual([]);
        expect((await main.get("/api/auth/token")).status).toBe(200);
      });

      it("gives every event its own jti", async () => {
        const jtis = (await outboxEvents(t)).map((e) => e.payload.jti);
        expect(jtis.length).toBeGreaterThan(100);
        expect(new Set(jtis).size).toBe(jtis.length);
      });

      it("loses no event when the database refuses the write right after the change: kept and written when it accepts again", async () => {
        const client = new Client(t.url);
        const { userId } = await client.signUp(uniqueEmail("ev-refused-write"));
        const { id: sid } = await sessionOf(client);
        await refuseOutboxWrites(t.app);
        try {
          // The session is gone either way: the request says so, and the event waits in memory.
          expect((await client.post("/api/auth/sign-out")).status).toBe(200);
          expect(t.app.revocations.recorder.pendingCount).toBe(1);
          expect(await eventsOf(t, userId)).toEqual([]);
        } finally {
          await allowOutboxWrites(t.app);
        }
        await vi.waitFor(async () => expect((await eventsOf(t, userId)).map((e) => e.claims)).toEqual([{ kind: "session", uid: userId, sid, reason: "sign-out" }]), { timeout: 10_000, interval: 200 });
        expect(t.app.revocations.recorder.pendingCount).toBe(0);
      });
    });
  });
}
