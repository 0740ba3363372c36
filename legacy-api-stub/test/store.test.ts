import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteTaskStore } from "../src/tasks/sqlite-store.ts";
import { InMemoryTaskStore, compareCodePoints, formatTimestamp, type Clock, type TaskStore } from "../src/tasks/store.ts";
import { CLOCK_START_US, tickingClock } from "./helpers/api.ts";

// The two stores behind the API behave alike; pydantic's timestamp form.
const dir = mkdtempSync(join(tmpdir(), "legacy-api-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const stores: readonly [string, (clock: Clock) => TaskStore][] = [
  ["InMemoryTaskStore", (clock) => new InMemoryTaskStore({ clock })],
  ["SqliteTaskStore", (clock) => SqliteTaskStore.open(join(dir, `store-${++files}.db`), { clock })],
];
const ALL = { status: "all", sort: "created_at" } as const;

describe.each(stores)("%s", (_name, makeStore) => {
  it("orders tasks created in the same microsecond by id, newest first", async () => {
    const store = makeStore(() => CLOCK_START_US);
    for (const title of ["a", "b", "c"]) await store.create("u", { title, description: null });
    expect((await store.list("u", ALL)).map((task) => task.title)).toEqual(["c", "b", "a"]);
    await store.close();
  });

  it("orders by title in code point order, ties by id, and filters by status", async () => {
    const store = makeStore(tickingClock());
    for (const title of ["b", "B", "a", "😀", "\uffff", "b", "ab"]) await store.create("u", { title, description: null });
    await store.toggle("u", 1);
    const byTitle = await store.list("u", { status: "all", sort: "title" });
    expect(byTitle.map((task) => [task.title, task.id])).toEqual([["B", 2], ["a", 3], ["ab", 7], ["b", 1], ["b", 6], ["\uffff", 5], ["😀", 4]]);
    expect((await store.list("u", { status: "completed", sort: "title" })).map((task) => task.id)).toEqual([1]);
    expect((await store.list("u", { status: "pending", sort: "created_at" })).map((task) => task.id)).toEqual([7, 6, 5, 4, 3, 2]);
    await store.close();
  });

  it("treats another user's task as absent for every operation", async () => {
    const store = makeStore(tickingClock());
    const task = await store.create("alice", { title: "t", description: null });
    expect(await store.get("bob", task.id)).toBeUndefined();
    expect(await store.update("bob", task.id, { title: "x" })).toBeUndefined();
    expect(await store.toggle("bob", task.id)).toBeUndefined();
    expect(await store.delete("bob", task.id)).toBe(false);
    expect(await store.list("bob", ALL)).toEqual([]);
    expect(await store.get("alice", task.id)).toEqual(task);
    await store.close();
  });

  it("changes only the fields given, and always moves updated_at", async () => {
    const store = makeStore(tickingClock());
    const task = await store.create("alice", { title: "t", description: "d" });
    expect(await store.update("alice", task.id, { completed: true })).toMatchObject({ title: "t", description: "d", completed: true, updated_at: "2026-01-01T00:00:01" });
    expect(await store.update("alice", task.id, { description: "" })).toMatchObject({ title: "t", description: "", completed: true });
    expect(await store.update("alice", task.id, {})).toMatchObject({ title: "t", description: "", updated_at: "2026-01-01T00:00:03" });
    expect(await store.update("alice", task.id, { title: "new", completed: false })).toMatchObject({ title: "new", completed: false, created_at: "2026-01-01T00:00:00" });
    await store.close();
  });

  it("keeps returned tasks apart from its own rows", async () => {
    const store = makeStore(tickingClock());
    const task = await store.create("alice", { title: "t", description: null });
    await store.toggle("alice", task.id);
    expect(task.completed).toBe(false);
    await store.close();
  });

  it("never reuses the id of a deleted task, even the highest", async () => {
    const store = makeStore(tickingClock());
    await store.create("alice", { title: "a", description: null });
    const second = await store.create("alice", { title: "b", description: null });
    expect(await store.delete("alice", second.id)).toBe(true);
    expect((await store.create("alice", { title: "c", description: null })).id).toBe(3);
    await store.close();
  });

  it("finds nothing for ids beyond any database's range", async () => {
    const store = makeStore(tickingClock());
    await store.create("alice", { title: "a", description: null });
    for (const id of [0, -1, 2 ** 63, 1e300]) expect(await store.get("alice", id)).toBeUndefined();
    await store.close();
  });
});

describe("compareCodePoints", () => {
  it("orders astral characters after the last BMP characters, as UTF-8 bytes do", () => {
    expect(compareCodePoints("😀", "\uffff")).toBeGreaterThan(0);
    expect(compareCodePoints("\ue000", "\ud7ff")).toBeGreaterThan(0);
    expect(compareCodePoints("a", "ab")).toBeLessThan(0);
    expect(compareCodePoints("same", "same")).toBe(0);
    const words = ["😀", "\uffff", "z", "Z", "é", "\ue000"];
    expect([...words].sort(compareCodePoints)).toEqual([...words].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });
});

describe("formatTimestamp", () => {
  it.each([
    [CLOCK_START_US, "2026-01-01T00:00:00"],
    [CLOCK_START_US + 1, "2026-01-01T00:00:00.000001"],
    [CLOCK_START_US + 123_000, "2026-01-01T00:00:00.123000"],
    [CLOCK_START_US + 59_999_999, "2026-01-01T00:00:59.999999"],
    [Date.UTC(2026, 10, 24, 8, 15, 12) * 1000 + 55_032, "2026-11-24T08:15:12.055032"],
  ])("writes %d µs as %s (naive UTC, as SQLModel's datetime.utcnow() comes back)", (microseconds, text) => {
    expect(formatTimestamp(microseconds)).toBe(text);
  });
});
