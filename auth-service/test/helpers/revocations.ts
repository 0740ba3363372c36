import type Database from "better-sqlite3";
import pg from "pg";
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from "jose";
import {
  readRevocationClaims, REVOCATION_EVENT_AUDIENCE, REVOCATION_EVENT_TYP, REVOCATION_FEED_PATH,
  type RevocationClaims, type RevocationFeed,
} from "@todo-gateway/config";
import type { AuthServiceApp } from "../../src/app.ts";
import type { TestApp } from "./app.ts";

export interface VerifiedEvent {
  readonly token: string;
  readonly header: ProtectedHeaderParameters;
  readonly payload: JWTPayload;
  readonly claims: RevocationClaims;
}

/**
 * Verifies an event the way a gateway does: against the service's own JWKS, with the event's
 * `typ`, audience and issuer; then reads its claims with the shared reader.
 */
export async function verifyEvent(t: TestApp, token: string): Promise<VerifiedEvent> {
  const jwks = createRemoteJWKSet(new URL(`${t.url}/api/auth/jwks`), { cooldownDuration: 0 });
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: t.config.jwt.issuer,
    audience: REVOCATION_EVENT_AUDIENCE,
    typ: REVOCATION_EVENT_TYP,
    requiredClaims: ["jti", "iat", "exp"],
  });
  const claims = readRevocationClaims(payload);
  if (claims === undefined) throw new Error(`not a revocation event: ${JSON.stringify(payload)}`);
  return { token, header: protectedHeader, payload, claims };
}

/** Every event in the outbox, verified, oldest first. */
export async function outboxEvents(t: TestApp): Promise<VerifiedEvent[]> {
  const rows = await t.app.revocations.outbox.all();
  return Promise.all(rows.map((row) => verifyEvent(t, row.token)));
}

/** The events (verified) concerning one user. */
export async function eventsOf(t: TestApp, uid: string): Promise<VerifiedEvent[]> {
  return (await outboxEvents(t)).filter((event) => event.claims.uid === uid);
}

/** `GET /internal/revocations[?query]`. */
export async function readFeed(url: string, query = "", init: RequestInit = {}): Promise<{ status: number; body: RevocationFeed; headers: Headers }> {
  const res = await fetch(`${url}${REVOCATION_FEED_PATH}${query}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === "" ? ({} as RevocationFeed) : (JSON.parse(text) as RevocationFeed) };
}

/** Runs SQL on the app's own database (SQLite handle or PostgreSQL pool). */
export async function execSql(app: AuthServiceApp, sql: string): Promise<void> {
  const handle = app.database.handle;
  if (handle instanceof pg.Pool) {
    await handle.query(sql);
    return;
  }
  (handle as Database.Database).exec(sql);
}

/** Makes the database refuse new outbox rows (a trigger), as if it failed right after the session was deleted. */
export async function refuseOutboxWrites(app: AuthServiceApp): Promise<void> {
  if (app.database.kind === "postgres") {
    await execSql(app, `CREATE OR REPLACE FUNCTION refuse_revocation_event() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'outbox refused by test'; END $$ LANGUAGE plpgsql;
      CREATE TRIGGER refuse_revocation_event BEFORE INSERT ON "revocationEvent" FOR EACH ROW EXECUTE FUNCTION refuse_revocation_event();`);
  } else {
    await execSql(app, `CREATE TRIGGER refuse_revocation_event BEFORE INSERT ON "revocationEvent" BEGIN SELECT RAISE(ABORT, 'outbox refused by test'); END;`);
  }
}

export async function allowOutboxWrites(app: AuthServiceApp): Promise<void> {
  await execSql(app, app.database.kind === "postgres" ? `DROP TRIGGER refuse_revocation_event ON "revocationEvent"` : "DROP TRIGGER refuse_revocation_event");
}
