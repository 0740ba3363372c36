import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawJson, startApi, type RunningApi } from "./helpers/api.ts";

// 422 for a bad POST or PUT body, in pydantic v2's shape, and nothing stored or changed after one.
let api: RunningApi;
beforeAll(async () => {
  api = await startApi();
  await api.call("POST", "/api/alice/tasks", { json: { title: "keep me", description: "as I am" } });
});
afterAll(async () => {
  await api.close();
});

const long = (n: number) => "x".repeat(n);

type Case = readonly [string, unknown, unknown[]];

// POST only: TaskCreate requires a title; PUT's TaskUpdate leaves every field optional.
const createCases: readonly Case[] = [
  ["a missing title", { description: "d" }, [
    { type: "missing", loc: ["body", "title"], msg: "Field required", input: { description: "d" } },
  ]],
  ["an empty object", {}, [
    { type: "missing", loc: ["body", "title"], msg: "Field required", input: {} },
  ]],
  ["a null title", { title: null }, [
    { type: "string_type", loc: ["body", "title"], msg: "Input should be a valid string", input: null },
  ]],
];

// PUT only: `completed` is a field of TaskUpdate (POST ignores it).
const updateCases: readonly Case[] = [
  ["a completed that is not a boolean word", { completed: "maybe" }, [
    { type: "bool_parsing", loc: ["body", "completed"], msg: "Input should be a valid boolean, unable to interpret input", input: "maybe" },
  ]],
  ["a completed of 2", { completed: 2 }, [
    { type: "bool_parsing", loc: ["body", "completed"], msg: "Input should be a valid boolean, unable to interpret input", input: 2 },
  ]],
  ["a completed of 1.5", { completed: 1.5 }, [
    { type: "bool_type", loc: ["body", "completed"], msg: "Input should be a valid boolean", input: 1.5 },
  ]],
  ["a completed that is a list", { completed: [true] }, [
    { type: "bool_type", loc: ["body", "completed"], msg: "Input should be a valid boolean", input: [true] },
  ]],
  ["a completed with blanks around the word (never trimmed)", { completed: " true" }, [
    { type: "bool_parsing", loc: ["body", "completed"], msg: "Input should be a valid boolean, unable to interpret input", input: " true" },
  ]],
  ["problems in title and completed, reported in field order", { completed: "maybe", title: "" }, [
    { type: "string_too_short", loc: ["body", "title"], msg: "String should have at least 1 character", input: "", ctx: { min_length: 1 } },
    { type: "bool_parsing", loc: ["body", "completed"], msg: "Input should be a valid boolean, unable to interpret input", input: "maybe" },
  ]],
];

const cases: readonly Case[] = [
  ["an empty title", { title: "" }, [
    { type: "string_too_short", loc: ["body", "title"], msg: "String should have at least 1 character", input: "", ctx: { min_length: 1 } },
  ]],
  ["a 201-character title", { title: long(201) }, [
    { type: "string_too_long", loc: ["body", "title"], msg: "String should have at most 200 characters", input: long(201), ctx: { max_length: 200 } },
  ]],
  ["a 1001-character description", { title: "t", description: long(1001) }, [
    { type: "string_too_long", loc: ["body", "description"], msg: "String should have at most 1000 characters", input: long(1001), ctx: { max_length: 1000 } },
  ]],
  ["a numeric title (never coerced to a string)", { title: 5 }, [
    { type: "string_type", loc: ["body", "title"], msg: "Input should be a valid string", input: 5 },
  ]],
  ["a boolean description", { title: "t", description: true }, [
    { type: "string_type", loc: ["body", "description"], msg: "Input should be a valid string", input: true },
  ]],
  ["an object title", { title: { text: "t" } }, [
    { type: "string_type", loc: ["body", "title"], msg: "Input should be a valid string", input: { text: "t" } },
  ]],
  ["a body that is a list", [{ title: "t" }], [
    { type: "model_attributes_type", loc: ["body"], msg: "Input should be a valid dictionary or object to extract fields from", input: [{ title: "t" }] },
  ]],
  ["a body that is a string", "t", [
    { type: "model_attributes_type", loc: ["body"], msg: "Input should be a valid dictionary or object to extract fields from", input: "t" },
  ]],
  ["a body that is null", null, [
    { type: "missing", loc: ["body"], msg: "Field required", input: null },
  ]],
  ["problems in both fields, reported in field order", { description: 7, title: "" }, [
    { type: "string_too_short", loc: ["body", "title"], msg: "String should have at least 1 character", input: "", ctx: { min_length: 1 } },
    { type: "string_type", loc: ["body", "description"], msg: "Input should be a valid string", input: 7 },
  ]],
];

describe.each([
  ["POST", "/api/alice/tasks", [...cases, ...createCases]],
  ["PUT", "/api/alice/tasks/1", [...cases, ...updateCases]],
] as const)("%s %s", (method, path, refused) => {
  it.each(refused)("answers 422 to %s", async (_name, json, detail) => {
    const answer = await api.call(method, path, { json });
    expect(answer.status).toBe(422);
    expect(answer.headers.get("content-type")).toBe("application/json");
    expect(answer.body).toEqual({ detail });
  });

  it("answers 422 missing with input null when there is no body at all", async () => {
    const answer = await api.call(method, path, { headers: { "content-type": "application/json" } });
    expect(answer.status).toBe(422);
    expect(answer.text).toBe('{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}');
  });

  it("answers 422 string_too_short with ctx, byte for byte as FastAPI writes it", async () => {
    const answer = await api.call(method, path, { json: { title: "" } });
    expect(answer.text).toBe(
      '{"detail":[{"type":"string_too_short","loc":["body","title"],"msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}}]}',
    );
  });

  it("counts code points, not UTF-16 units, against the 200-character limit", async () => {
    const answer = await api.call(method, path, { json: { title: "😀".repeat(201) } });
    expect(answer.body).toMatchObject({ detail: [{ type: "string_too_long", loc: ["body", "title"] }] });
  });
});

describe("after a bad body", () => {
  it("has stored nothing and changed nothing", async () => {
    for (const [, json] of [...cases, ...createCases]) await api.call("POST", "/api/alice/tasks", { json });
    for (const [, json] of [...cases, ...updateCases]) await api.call("PUT", "/api/alice/tasks/1", { json });
    await api.call("POST", "/api/alice/tasks", rawJson('{"title": "half'));
    await api.call("PUT", "/api/alice/tasks/1", rawJson("{"));
    const tasks = (await api.call("GET", "/api/alice/tasks")).body as { id: number; title: string; description: string; completed: boolean; updated_at: string }[];
    expect(tasks.map(({ id, title, description, completed }) => ({ id, title, description, completed }))).toEqual([
      { id: 1, title: "keep me", description: "as I am", completed: false },
    ]);
    expect(tasks[0]!.updated_at).toBe("2026-01-01T00:00:00");
    // The next task still gets id 2: a refused body consumed no id.
    expect((await api.call("POST", "/api/alice/tasks", { json: { title: "next" } })).body).toMatchObject({ id: 2 });
  });
});
