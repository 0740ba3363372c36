import { describe, expect, it } from "vitest";
import { InMemoryTaskStore, formatTimestamp } from "../src/tasks/store.ts";
import { CLOCK_START_US, tickingClock } from "./helpers/api.ts";

// The in-memory store behind the API, and pydantic's timestamp form.
describe("InMemoryTaskStore", () => {
  it("orders tasks created in the same microsecond by id, newest first", async () => {
    const store = new InMemoryTaskStore({ clock: () => CLOCK_START_US });
    for (const title of ["a", "b", "c"]) await store.create("u", { title, description: null });
    expect((await store.list("u", "all")).map((task) => task.title)).toEqual(["c", "b", "a"]);
  });

  it("treats another user's task as absent for every operation", async () => {
    const store = new InMemoryTaskStore({ clock: tickingClock() });
    const task = await store.create("alice", { title: "t", description: null });
    expect(await store.get("bob", task.id)).toBeUndefined();
    expect(await store.replace("bob", task.id, { title: "x", description: null })).toBeUndefined();
    expect(await store.toggle("bob", task.id)).toBeUndefined();
    expect(await store.delete("bob", task.id)).toBe(false);
    expect(await store.get("alice", task.id)).toEqual(task);
  });

  it("keeps returned tasks apart from its own rows", async () => {
    const store = new InMemoryTaskStore({ clock: tickingClock() });
    const task = await store.create("alice", { title: "t", description: null });
    await store.toggle("alice", task.id);
    expect(task.completed).toBe(false);
  });
});

describe("formatTimestamp", () => {
  it.each([
    [CLOCK_START_US, "2026-01-01T00:00:00Z"],
    [CLOCK_START_US + 1, "2026-01-01T00:00:00.000001Z"],
    [CLOCK_START_US + 123_000, "2026-01-01T00:00:00.123000Z"],
    [CLOCK_START_US + 59_999_999, "2026-01-01T00:00:59.999999Z"],
  ])("writes %d µs as %s", (microseconds, text) => {
    expect(formatTimestamp(microseconds)).toBe(text);
  });
});
