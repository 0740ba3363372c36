/**
 * Revocation events and their HTTP feed (docs/revocation.md), run once per database
 * (sqlite.test.ts, postgres.test.ts). Every way a session or a user ends must leave a signed
 * event in the outbox, written by the request itself, that a gateway verifies with nothing but
 * the service's JWKS; and the feed must hand every unexpired event to a long-polling gateway.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from "jose";
import { REVOCATION_EVENT_AUDIENCE, REVOCATION_EVENT_TYP, REVOCATION_RETENTION_MARGIN_S } from "@todo-gateway/config";
import type { RecordedRevocation } from "../../src/revocation/index.ts";
import { signRevocationEvent } from "../../src/revocation/sign.ts";
import { Client, startTestApp, uniqueEmail, type TestApp } from "./app.ts";
import { allowOutboxWrites, eventsOf, outboxEvents, readFeed, refuseOutboxWrites, verifyEvent, type VerifiedEvent } from "./revocations.ts";
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

    describe("the feed", () => {
      it("serves every unexpired event, oldest first, with a version that changes with the set", async () => {
        const first = await readFeed(t.url);
        expect(first.status).toBe(200);
        expect(first.headers.get("content-type")).toMatch(/^application\/json/);
        expect(first.headers.get("cache-control")).toBe("no-store");
        expect(first.body.events).toEqual((await t.app.revocations.outbox.all()).map((row) => row.token));
        expect(first.body.version).toMatch(/^[A-Za-z0-9_-]+$/);
        expect((await readFeed(t.url)).body.version).toBe(first.body.version);

        const client = new Client(t.url);
        await client.signUp(uniqueEmail("feed-basic"));
        await client.post("/api/auth/sign-out");
        const second = await readFeed(t.url);
        expect(second.body.version).not.toBe(first.body.version);
        expect(second.body.events.slice(0, -1)).toEqual(first.body.events);
        expect((await verifyEvent(t, second.body.events.at(-1)!)).claims.reason).toBe("sign-out");
      });

      it("answers HEAD without a body, and refuses other methods (405) and malformed queries (400)", async () => {
        const head = await fetch(`${t.url}/internal/revocations`, { method: "HEAD" });
        expect(head.status).toBe(200);
        expect(await head.text()).toBe("");
        for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
          const res = await fetch(`${t.url}/internal/revocations`, { method });
          expect(res.status, method).toBe(405);
          expect(res.headers.get("allow")).toBe("GET, HEAD");
          expect(await res.json()).toMatchObject({ code: "METHOD_NOT_ALLOWED" });
        }
        for (const query of ["?wait=soon", "?wait=-1", "?wait=1.5", `?version=${"x".repeat(200)}`, "?version=%3Cscript%3E"]) {
          const res = await readFeed(t.url, query);
          expect(res.status, query).toBe(400);
          expect(res.body).toMatchObject({ code: "BAD_REQUEST" });
        }
        // Under /api/auth there is nothing of the kind: the gateway's routes cannot reach it.
        expect((await fetch(`${t.url}/api/auth/internal/revocations`)).status).toBe(404);
      });

      it("answers a long-poll at once when the caller's version is not the current one", async () => {
        const { body } = await readFeed(t.url);
        const stale = await readFeed(t.url, "?version=stale0version0&wait=25");
        expect(stale.body).toEqual(body);
      });

      it("holds a long-poll whose version is current until the wait has passed", async () => {
        const { body } = await readFeed(t.url);
        const started = performance.now();
        const held = await readFeed(t.url, `?version=${body.version}&wait=1`);
        expect(performance.now() - started).toBeGreaterThanOrEqual(950);
        expect(held.body).toEqual(body);
        expect(t.app.revocations.feed.waiting).toBe(0);
      });

      it("re-reads the outbox while anyone waits: a row another writer added (another replica) wakes the waiter", async () => {
        const { body } = await readFeed(t.url);
        const poll = readFeed(t.url, `?version=${body.version}&wait=25`);
        await vi.waitFor(() => expect(t.app.revocations.feed.waiting).toBe(1));
        // Written as another replica would: signed with the shared key, straight into the table,
        // with no word to this process's feed.
        const context = await t.app.auth.$context;
        const iat = nowS();
        const envelope = { iss: t.config.jwt.issuer, aud: REVOCATION_EVENT_AUDIENCE, jti: randomUUID(), iat, exp: iat + t.config.jwt.lifetimeS + REVOCATION_RETENTION_MARGIN_S } as const;
        const token = await signRevocationEvent({ kind: "user", uid: "elsewhere", before: iat, reason: "revoke-sessions" }, envelope, await t.app.keyring.signingKey({ context }));
        await t.app.revocations.outbox.insert({ id: envelope.jti, token, createdAt: new Date(), expiresAt: new Date(envelope.exp * 1000) });
        const woken = await poll;
        expect(woken.body.events.at(-1)).toBe(token);
        expect((await verifyEvent(t, token)).claims.uid).toBe("elsewhere");
      });
    });

    describe("the feed's waiters", () => {
      let w: TestApp;
      beforeAll(async () => {
        // No periodic re-read: only this process's own writes can wake a waiter here.
        w = await startTestApp(await backend.env(), { feedRecheckMs: 3_600_000, feedMaxWaiters: 2 });
      });
      afterAll(async () => {
        await w?.close();
      });

      it("wakes a waiting long-poll as soon as this process writes an event", async () => {
        const { body } = await readFeed(w.url);
        const poll = readFeed(w.url, `?version=${body.version}&wait=25`);
        await vi.waitFor(() => expect(w.app.revocations.feed.waiting).toBe(1));
        const client = new Client(w.url);
        const { userId } = await client.signUp(uniqueEmail("feed-wake"));
        await client.post("/api/auth/sign-out");
        // A missed wake-up would hold the poll for 25 s, past this test's timeout.
        const woken = await poll;
        expect(woken.body.version).not.toBe(body.version);
        expect((await verifyEvent(w, woken.body.events.at(-1)!)).claims).toMatchObject({ uid: userId, reason: "sign-out" });
      });

      it("lets at most the bound wait, answers the next at once, and forgets a waiter whose client went away", async () => {
        const { body } = await readFeed(w.url);
        const aborts = [new AbortController(), new AbortController()];
        const held = aborts.map((a) => readFeed(w.url, `?version=${body.version}&wait=25`, { signal: a.signal }).catch(() => "aborted"));
        await vi.waitFor(() => expect(w.app.revocations.feed.waiting).toBe(2));
        // Past the bound: answered at once (waiting would outlast this test's timeout).
        const third = await readFeed(w.url, `?version=${body.version}&wait=25`);
        expect(third.body).toEqual(body);
        for (const a of aborts) a.abort();
        expect(await Promise.all(held)).toEqual(["aborted", "aborted"]);
        await vi.waitFor(() => expect(w.app.revocations.feed.waiting).toBe(0));
        // The freed places are usable again.
        const again = readFeed(w.url, `?version=${body.version}&wait=1`);
        await vi.waitFor(() => expect(w.app.revocations.feed.waiting).toBe(1));
        expect((await again).body).toEqual(body);
      });

      it("answers every waiter when the service closes, instead of holding the shutdown", async () => {
        const c = await startTestApp(await backend.env());
        const { body } = await readFeed(c.url);
        const poll = readFeed(c.url, `?version=${body.version}&wait=25`);
        await vi.waitFor(() => expect(c.app.revocations.feed.waiting).toBe(1));
        await c.close();
        expect((await poll).body).toEqual(body);
      });
    });

    describe("expiry (pinned clock)", () => {
      let e: TestApp;
      let clock = Date.now();
      beforeAll(async () => {
        clock = Date.now();
        e = await startTestApp(await backend.env(), { now: () => clock });
      });
      afterAll(async () => {
        await e?.close();
      });

      it("serves an event until its exp, then forgets it, and the periodic sweep deletes its row", async () => {
        const client = new Client(e.url);
        const { userId } = await client.signUp(uniqueEmail("expiry"));
        await client.post("/api/auth/sign-out");
        const [event] = await eventsOf(e, userId);
        const served = await readFeed(e.url);
        expect(served.body.events).toEqual([event!.token]);
        expect(event!.payload.exp).toBe(Math.floor(clock / 1000) + e.config.jwt.lifetimeS + REVOCATION_RETENTION_MARGIN_S);

        clock = event!.payload.exp! * 1000 - 1;
        expect((await readFeed(e.url)).body.events).toHaveLength(1);
        clock = event!.payload.exp! * 1000;
        const expired = await readFeed(e.url);
        expect(expired.body.events).toEqual([]);
        expect(expired.body.version).not.toBe(served.body.version);

        // No explicit call: the maintenance tick notices the clock moved and sweeps.
        await vi.waitFor(async () => expect(await e.app.revocations.outbox.all()).toEqual([]), { timeout: 10_000, interval: 200 });
        expect(await e.app.revocations.sweep()).toBe(0);
      });
    });
  });
}
