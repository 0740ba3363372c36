import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type RunningApi } from "./helpers/api.ts";

// 422 for a task id that is not an integer and a status filter outside the Literal, as
// pydantic reads path and query strings.
let api: RunningApi;
beforeAll(async () => {
  api = await startApi();
  await api.call("POST", "/api/alice/tasks", { json: { title: "t" } });
});
afterAll(async () => {
  await api.close();
});

const intParsing = (input: string) => ({
  type: "int_parsing", loc: ["path", "task_id"], msg: "Input should be a valid integer, unable to parse string as an integer", input,
});

describe("a task id that is not an integer", () => {
  it.each([
    ["GET", "/api/alice/tasks/abc"],
    ["PUT", "/api/alice/tasks/abc"],
    ["DELETE", "/api/alice/tasks/abc"],
    ["PATCH", "/api/alice/tasks/abc/complete"],
  ] as const)("%s %s answers 422 int_parsing at path.task_id", async (method, path) => {
    const answer = await api.call(method, path, method === "PUT" ? { json: { title: "t" } } : {});
    expect(answer.status).toBe(422);
    expect(answer.text).toBe(
      '{"detail":[{"type":"int_parsing","loc":["path","task_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]}',
    );
  });

  it.each(["1.5", "1e3", "0x1", "1.", "--1", "1__0", "_1", "one"])("refuses %j", async (id) => {
    const answer = await api.call("GET", `/api/alice/tasks/${encodeURIComponent(id)}`);
    expect(answer.body).toEqual({ detail: [intParsing(id)] });
  });

  it.each(["1", "01", "+1", "1.0", "1.000", " 1 ", "0_1"])("reads %j as task 1, as pydantic's lax int does", async (id) => {
    const answer = await api.call("GET", `/api/alice/tasks/${encodeURIComponent(id)}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: 1 });
  });

  it("answers int_parsing_size to an integer over 4300 digits", async () => {
    const answer = await api.call("GET", `/api/alice/tasks/${"9".repeat(4301)}`);
    expect(answer.body).toMatchObject({ detail: [{ type: "int_parsing_size", loc: ["path", "task_id"] }] });
  });

  it("reports the path problem first, then the body's, in one answer", async () => {
    const answer = await api.call("PUT", "/api/alice/tasks/x", { json: { title: "" } });
    expect(answer.status).toBe(422);
    expect((answer.body as { detail: { loc: unknown[] }[] }).detail.map((issue) => issue.loc)).toEqual([["path", "task_id"], ["body", "title"]]);
  });

  it("reports a missing body alongside a bad id", async () => {
    const answer = await api.call("PUT", "/api/alice/tasks/x");
    expect(answer.body).toEqual({ detail: [intParsing("x"), { type: "missing", loc: ["body"], msg: "Field required", input: null }] });
  });
});

describe("the status filter", () => {
  const literalError = (input: string) => ({
    detail: [{
      type: "literal_error", loc: ["query", "status"], msg: "Input should be 'all', 'pending' or 'completed'", input,
      ctx: { expected: "'all', 'pending' or 'completed'" },
    }],
  });

  it.each(["done", "Pending", "ALL", "", "completed "])("answers 422 literal_error to status=%j", async (status) => {
    const answer = await api.call("GET", `/api/alice/tasks?status=${encodeURIComponent(status)}`);
    expect(answer.status).toBe(422);
    expect(answer.body).toEqual(literalError(status));
  });

  it("reads a status sent without a value as the empty string", async () => {
    expect((await api.call("GET", "/api/alice/tasks?status")).body).toEqual(literalError(""));
  });

  it("takes the last of repeated status parameters", async () => {
    expect((await api.call("GET", "/api/alice/tasks?status=bogus&status=pending")).status).toBe(200);
    expect((await api.call("GET", "/api/alice/tasks?status=pending&status=bogus")).body).toEqual(literalError("bogus"));
  });

  it("decodes + and percent escapes in the query", async () => {
    expect((await api.call("GET", "/api/alice/tasks?status=pend%69ng")).status).toBe(200);
    expect((await api.call("GET", "/api/alice/tasks?status=a+b")).body).toEqual(literalError("a b"));
  });
});
