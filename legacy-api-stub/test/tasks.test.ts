import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rawJson, startApi, type RunningApi } from "./helpers/api.ts";

// The six Spec 001 operations on their happy paths, as the FastAPI implementations answer them.
let api: RunningApi;
beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => {
  await api.close();
});

const create = (user: string, json: unknown) => api.call("POST", `/api/${user}/tasks`, { json });

describe("POST /api/{user_id}/tasks", () => {
  it("creates a task and answers 201 with the whole task as application/json", async () => {
    const answer = await create("alice", { title: "Buy milk", description: "2 litres" });
    expect(answer.status).toBe(201);
    expect(answer.headers.get("content-type")).toBe("application/json");
    expect(answer.body).toEqual({
      id: 1,
      user_id: "alice",
      title: "Buy milk",
      description: "2 litres",
      completed: false,
      created_at: "2026-01-01T00:00:00",
      updated_at: "2026-01-01T00:00:00",
    });
  });

  it("writes the fields in the order id, user_id, title, description, completed, created_at, updated_at", async () => {
    const answer = await create("alice", { title: "Buy milk" });
    expect(Object.keys(answer.body as object)).toEqual(["id", "user_id", "title", "description", "completed", "created_at", "updated_at"]);
  });

  it("stores a missing or null description as null, and an empty one as an empty string", async () => {
    expect((await create("alice", { title: "a" })).body).toMatchObject({ description: null });
    expect((await create("alice", { title: "b", description: null })).body).toMatchObject({ description: null });
    expect((await create("alice", { title: "c", description: "" })).body).toMatchObject({ description: "" });
  });

  it("ignores fields it does not know, including completed and id", async () => {
    const answer = await create("alice", { title: "a", completed: true, id: 99, user_id: "mallory" });
    expect(answer.body).toMatchObject({ id: 1, user_id: "alice", completed: false });
  });

  it("accepts titles of 1 and 200 characters and a description of 1000, counting code points", async () => {
    expect((await create("alice", { title: "x" })).status).toBe(201);
    expect((await create("alice", { title: "😀".repeat(200), description: "é".repeat(1000) })).status).toBe(201);
  });

  it("assigns ids from 1 upward across all users", async () => {
    const ids = [];
    for (const user of ["alice", "bob", "alice"]) ids.push(((await create(user, { title: "t" })).body as { id: number }).id);
    expect(ids).toEqual([1, 2, 3]);
  });

  it("takes the user from the path and ignores an X-User-Id header", async () => {
    const answer = await api.call("POST", "/api/alice/tasks", { json: { title: "t" }, headers: { "x-user-id": "mallory" } });
    expect(answer.body).toMatchObject({ user_id: "alice" });
    const listed = await api.call("GET", "/api/mallory/tasks", { headers: { "x-user-id": "alice" } });
    expect(listed.body).toEqual([]);
  });

  it("decodes the user id from the path", async () => {
    const answer = await create("user%40example.com", { title: "t" });
    expect(answer.body).toMatchObject({ user_id: "user@example.com" });
  });
});

describe("GET /api/{user_id}/tasks", () => {
  it("lists only that user's tasks, newest first", async () => {
    await create("alice", { title: "first" });
    await create("bob", { title: "bob's" });
    await create("alice", { title: "second" });
    const answer = await api.call("GET", "/api/alice/tasks");
    expect(answer.status).toBe(200);
    expect((answer.body as { title: string }[]).map((task) => task.title)).toEqual(["second", "first"]);
  });

  it("answers an empty list for a user with no tasks", async () => {
    const answer = await api.call("GET", "/api/nobody/tasks");
    expect(answer.status).toBe(200);
    expect(answer.text).toBe("[]");
  });

  it("filters by ?status=pending, completed or all", async () => {
    await create("alice", { title: "open" });
    await create("alice", { title: "done" });
    await api.call("PATCH", "/api/alice/tasks/2/complete");
    const titles = async (query: string) =>
      ((await api.call("GET", `/api/alice/tasks${query}`)).body as { title: string }[]).map((task) => task.title);
    expect(await titles("?status=pending")).toEqual(["open"]);
    expect(await titles("?status=completed")).toEqual(["done"]);
    expect(await titles("?status=all")).toEqual(["done", "open"]);
    expect(await titles("")).toEqual(["done", "open"]);
  });

  it("ignores query parameters it does not know", async () => {
    await create("alice", { title: "t" });
    const answer = await api.call("GET", "/api/alice/tasks?page=2&limit=0&order=asc");
    expect((answer.body as unknown[]).length).toBe(1);
  });

  it("sorts by title A to Z with ?sort=title, and newest first with ?sort=created_at, the default", async () => {
    for (const title of ["banana", "Cherry", "apple"]) await create("alice", { title });
    const titles = async (query: string) =>
      ((await api.call("GET", `/api/alice/tasks${query}`)).body as { title: string }[]).map((task) => task.title);
    // Code point order, as SQLite compares text: capitals first.
    expect(await titles("?sort=title")).toEqual(["Cherry", "apple", "banana"]);
    expect(await titles("?sort=created_at")).toEqual(["apple", "Cherry", "banana"]);
    expect(await titles("")).toEqual(["apple", "Cherry", "banana"]);
    await api.call("PATCH", "/api/alice/tasks/1/complete");
    expect(await titles("?status=pending&sort=title")).toEqual(["Cherry", "apple"]);
  });

  it("answers 422 literal_error to an unknown sort, as it does to an unknown status", async () => {
    const answer = await api.call("GET", "/api/alice/tasks?sort=due_date&status=done");
    expect(answer.status).toBe(422);
    expect(answer.body).toEqual({
      detail: [
        { type: "literal_error", loc: ["query", "status"], msg: "Input should be 'all', 'pending' or 'completed'", input: "done", ctx: { expected: "'all', 'pending' or 'completed'" } },
        { type: "literal_error", loc: ["query", "sort"], msg: "Input should be 'created_at' or 'title'", input: "due_date", ctx: { expected: "'created_at' or 'title'" } },
      ],
    });
  });
});

describe("GET /api/{user_id}/tasks/{id}", () => {
  it("answers the task", async () => {
    const created = (await create("alice", { title: "t" })).body;
    const answer = await api.call("GET", "/api/alice/tasks/1");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(created);
  });
});

describe("PUT /api/{user_id}/tasks/{id}", () => {
  it("changes the fields sent, completed included, keeps created_at, and moves updated_at", async () => {
    await create("alice", { title: "old", description: "old text" });
    await api.call("PATCH", "/api/alice/tasks/1/complete");
    const answer = await api.call("PUT", "/api/alice/tasks/1", { json: { title: "new", description: "new text", completed: false } });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      id: 1,
      user_id: "alice",
      title: "new",
      description: "new text",
      completed: false,
      created_at: "2026-01-01T00:00:00",
      updated_at: "2026-01-01T00:00:02",
    });
  });

  it("is a partial update: fields left out stay as they are", async () => {
    await create("alice", { title: "old", description: "old text" });
    expect((await api.call("PUT", "/api/alice/tasks/1", { json: { title: "new" } })).body).toMatchObject({ title: "new", description: "old text", completed: false });
    const described = await api.call("PUT", "/api/alice/tasks/1", { json: { description: "only the description" } });
    expect(described.status).toBe(200);
    expect(described.body).toMatchObject({ title: "new", description: "only the description", completed: false });
    const empty = await api.call("PUT", "/api/alice/tasks/1", { json: {} });
    expect(empty.body).toMatchObject({ title: "new", description: "only the description", updated_at: "2026-01-01T00:00:03" });
  });

  it("leaves fields sent as null as they are; an empty description clears it", async () => {
    await create("alice", { title: "old", description: "old text" });
    const nulls = await api.call("PUT", "/api/alice/tasks/1", { json: { title: null, description: null, completed: null } });
    expect(nulls.status).toBe(200);
    expect(nulls.body).toMatchObject({ title: "old", description: "old text", completed: false });
    expect((await api.call("PUT", "/api/alice/tasks/1", { json: { description: "" } })).body).toMatchObject({ description: "" });
  });

  it("sets completed, reading it as pydantic's lax bool does", async () => {
    await create("alice", { title: "t" });
    const completed = async (value: unknown) => ((await api.call("PUT", "/api/alice/tasks/1", { json: { completed: value } })).body as { completed: boolean }).completed;
    expect(await completed(true)).toBe(true);
    expect(await completed(false)).toBe(false);
    expect(await completed("yes")).toBe(true);
    expect(await completed("OFF")).toBe(false);
    expect(await completed(1)).toBe(true);
    expect(await completed(0)).toBe(false);
    expect(await completed("t")).toBe(true);
    expect(await completed("0")).toBe(false);
    const float = await api.call("PUT", "/api/alice/tasks/1", rawJson('{"completed": 1.0}'));
    expect(float.body).toMatchObject({ completed: true });
  });
});

describe("PATCH /api/{user_id}/tasks/{id}/complete", () => {
  it("toggles completion and back, moving updated_at each time", async () => {
    await create("alice", { title: "t" });
    const first = await api.call("PATCH", "/api/alice/tasks/1/complete");
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ completed: true, created_at: "2026-01-01T00:00:00", updated_at: "2026-01-01T00:00:01" });
    const second = await api.call("PATCH", "/api/alice/tasks/1/complete");
    expect(second.body).toMatchObject({ completed: false, updated_at: "2026-01-01T00:00:02" });
  });

  it("ignores any request body", async () => {
    await create("alice", { title: "t" });
    const answer = await api.call("PATCH", "/api/alice/tasks/1/complete", { body: "not json", headers: { "content-type": "application/json" } });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ completed: true });
  });
});

describe("DELETE /api/{user_id}/tasks/{id}", () => {
  it("answers 204 with an empty body, after which the task is gone", async () => {
    await create("alice", { title: "t" });
    const answer = await api.call("DELETE", "/api/alice/tasks/1");
    expect(answer.status).toBe(204);
    expect(answer.text).toBe("");
    expect((await api.call("GET", "/api/alice/tasks/1")).status).toBe(404);
    expect((await api.call("GET", "/api/alice/tasks")).body).toEqual([]);
  });

  it("never reuses the id of a deleted task", async () => {
    await create("alice", { title: "t" });
    await api.call("DELETE", "/api/alice/tasks/1");
    expect((await create("alice", { title: "u" })).body).toMatchObject({ id: 2 });
  });
});
