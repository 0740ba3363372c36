/**
 * Publish-ahead planning against a pinned clock: a key is in the JWKS at least the lead time
 * before it signs, and a retired key stays for the grace period. Better Auth alone would mint
 * lazily and sign with the brand-new key at once, which a gateway with a fresh cache rejects.
 */
import { describe, expect, it } from "vitest";
import { planKeys, type KeyRow, type RotationPolicy } from "../src/keyring.ts";

const S = 1000;
const T0 = Date.UTC(2026, 0, 1);
const policy: RotationPolicy = { algorithm: "EdDSA", intervalS: 100, leadS: 10, graceS: 60 };

function key(id: string, createdS: number, expiresS?: number, alg: KeyRow["alg"] = "EdDSA"): KeyRow {
  return { id, publicKey: "{}", privateKey: "{}", alg, createdAt: new Date(T0 + createdS * S), ...(expiresS === undefined ? {} : { expiresAt: new Date(T0 + expiresS * S) }) };
}
const ids = (rows: readonly KeyRow[]) => rows.map((r) => r.id);

describe("planKeys", () => {
  it("mints the first key when the table is empty, expiring one interval later", () => {
    const plan = planKeys([], T0, policy);
    expect(plan.signing).toBeUndefined();
    expect(plan.mint?.expiresAt?.getTime()).toBe(T0 + 100 * S);
  });

  it("mints a first key without expiry when rotation is off", () => {
    expect(planKeys([], T0, { ...policy, intervalS: 0 }).mint).toEqual({ expiresAt: null });
  });

  it("signs with the first key at once (nothing can have fetched the JWKS before it existed)", () => {
    const plan = planKeys([key("a", 0, 100)], T0, policy);
    expect(plan.signing?.id).toBe("a");
    expect(ids(plan.published)).toEqual(["a"]);
    expect(plan.mint).toBeUndefined();
  });

  it("mints the successor lead seconds before the current key's term ends", () => {
    expect(planKeys([key("a", 0, 100)], T0 + 89 * S, policy).mint).toBeUndefined();
    const due = planKeys([key("a", 0, 100)], T0 + 90 * S, policy).mint;
    expect(due?.expiresAt?.getTime()).toBe(T0 + 200 * S);
  });

  it("publishes a pending key without signing with it", () => {
    const plan = planKeys([key("a", 0, 100), key("b", 90, 200)], T0 + 95 * S, policy);
    expect(plan.signing?.id).toBe("a");
    expect(ids(plan.published)).toEqual(["a", "b"]);
  });

  it("switches to the successor once it has been published for the lead time", () => {
    const rows = [key("a", 0, 100), key("b", 90, 200)];
    expect(planKeys(rows, T0 + 99_999, policy).signing?.id).toBe("a");
    expect(planKeys(rows, T0 + 100 * S, policy).signing?.id).toBe("b");
  });

  it("keeps the retired key published for the grace period after its successor took over", () => {
    const rows = [key("a", 0, 100), key("b", 90, 200)];
    expect(ids(planKeys(rows, T0 + 159 * S, policy).published)).toEqual(["a", "b"]);
    expect(ids(planKeys(rows, T0 + 160 * S, policy).published)).toEqual(["b"]);
  });

  it("keeps an expired key signing until a late successor has been published for the lead time", () => {
    // The service was down past a's expiry: b is minted late, at 500 s.
    const late = planKeys([key("a", 0, 100)], T0 + 500 * S, policy);
    expect(late.signing?.id).toBe("a");
    expect(late.mint?.expiresAt?.getTime()).toBe(T0 + 610 * S);
    const rows = [key("a", 0, 100), key("b", 500, 610)];
    expect(planKeys(rows, T0 + 505 * S, policy).signing?.id).toBe("a");
    expect(ids(planKeys(rows, T0 + 505 * S, policy).published)).toEqual(["a", "b"]);
    expect(planKeys(rows, T0 + 510 * S, policy).signing?.id).toBe("b");
  });

  it("never mints while rotation is off", () => {
    expect(planKeys([key("a", 0)], T0 + 10 ** 9, { ...policy, intervalS: 0 }).mint).toBeUndefined();
  });

  it("counts the term of a key minted while rotation was off from its activation", () => {
    expect(planKeys([key("a", 0)], T0 + 50 * S, policy).mint).toBeUndefined();
    expect(planKeys([key("a", 0)], T0 + 95 * S, policy).mint?.expiresAt?.getTime()).toBe(T0 + 205 * S);
  });

  it("publishes a key of a newly configured algorithm ahead of use", () => {
    const es = { ...policy, algorithm: "ES256" as const, intervalS: 0 };
    expect(planKeys([key("a", 0)], T0 + 50 * S, es).mint).toEqual({ expiresAt: null });
    const rows = [key("a", 0), key("b", 50, undefined, "ES256")];
    expect(planKeys(rows, T0 + 55 * S, es).signing?.id).toBe("a");
    expect(planKeys(rows, T0 + 60 * S, es).signing?.id).toBe("b");
    expect(planKeys(rows, T0 + 60 * S, es).mint).toBeUndefined();
    expect(ids(planKeys(rows, T0 + 121 * S, es).published)).toEqual(["b"]);
  });

  it("is robust to a longer lead time after a restart: the previous key signs again until the new one qualifies", () => {
    const rows = [key("a", 0, 100), key("b", 90, 200)];
    const longer = { ...policy, leadS: 30 };
    expect(planKeys(rows, T0 + 110 * S, longer).signing?.id).toBe("a");
    expect(ids(planKeys(rows, T0 + 110 * S, longer).published)).toEqual(["a", "b"]);
  });
});
