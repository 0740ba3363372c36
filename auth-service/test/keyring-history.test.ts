/**
 * The `jwks` table only grows (retired keys are never deleted), and Better Auth reads at most
 * 100 rows unless told otherwise: after 100 rotations the keyring must still plan from the
 * newest keys, not from the first hundred.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeProtectedHeader } from "jose";
import { Client, countRows, startTestApp, uniqueEmail, type TestApp } from "./helpers/app.ts";

describe("key rotation with a long history", () => {
  let t: TestApp;
  let clock = Date.now();
  beforeAll(async () => {
    clock = Date.now();
    t = await startTestApp({ JWT_ROTATION_INTERVAL_S: "11", JWT_ROTATION_LEAD_S: "10", JWT_LIFETIME_S: "30", JWT_ROTATION_GRACE_S: "90" }, { now: () => clock });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("after 120 rotations signs with the newest active key and publishes only the recent ones", async () => {
    const context = await t.app.auth.$context;
    for (let i = 0; i < 120; i++) {
      clock += 11_000;
      await t.app.keyring.sync({ context });
    }
    const rows = await countRows(t.app, "jwks");
    expect(rows).toBeGreaterThan(120);
    // One successor per term, no runaway minting.
    await t.app.keyring.sync({ context });
    expect(await countRows(t.app, "jwks")).toBe(rows);

    const client = new Client(t.url);
    await client.signUp(uniqueEmail("history"));
    const kid = decodeProtectedHeader(await client.jwt()).kid;
    const plan = await t.app.keyring.sync({ context });
    expect(kid).toBe(plan.signing?.id);
    const newest = await context.adapter.findMany<{ id: string; createdAt: Date }>({ model: "jwks", sortBy: { field: "createdAt", direction: "desc" }, limit: 2 });
    // The newest row is the pending successor; the one before it signs.
    expect(newest.map((k) => k.id)).toContain(kid);
    const served = (await (await fetch(`${t.url}/api/auth/jwks`)).json()) as { keys: { kid: string }[] };
    expect(served.keys.length).toBeLessThanOrEqual(12);
    expect(served.keys.map((k) => k.kid)).toContain(kid);
  });
});
