import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type RunningApi } from "./helpers/api.ts";

// 404 for other users' tasks and unknown paths, 405 with Allow, and Starlette's slash redirect.
let api: RunningApi;
beforeAll(async () => {
  api = await startApi();
  await api.call("POST", "/api/alice/tasks", { json: { title: "alice's" } });
});
afterAll(async () => {
  await api.close();
});

describe("a task of another user, or none", () => {
  const attempts = [
    ["GET", "/api/bob/tasks/1", undefined],
    ["PUT", "/api/bob/tasks/1", { title: "hijacked" }],
    ["DELETE", "/api/bob/tasks/1", undefined],
    ["PATCH", "/api/bob/tasks/1/complete", undefined],
  ] as const;

  it.each(attempts)("%s %s answers 404 Task not found and leaves the task untouched", async (method, path, json) => {
    const answer = await api.call(method, path, { json });
    expect(answer.status).toBe(404);
    expect(answer.headers.get("content-type")).toBe("application/json");
    expect(answer.text).toBe('{"detail":"Task not found"}');
    expect((await api.call("GET", "/api/alice/tasks/1")).body).toMatchObject({ title: "alice's", completed: false });
  });

  it.each([
    ["GET", "/api/alice/tasks/999"],
    ["DELETE", "/api/alice/tasks/0"],
    ["PATCH", "/api/alice/tasks/-1/complete"],
    ["GET", "/api/alice/tasks/99999999999999999999999"],
  ] as const)("%s %s (no such id) answers 404 Task not found", async (method, path) => {
    const answer = await api.call(method, path);
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ detail: "Task not found" });
  });
});

describe("unknown paths", () => {
  it.each([
    "/", "/api", "/api/alice", "/api/alice/tasks/1/complete/now", "/api/alice/todos", "/api//tasks", "/docs", "/healthz",
    "/API/alice/tasks",
  ])("GET %s answers 404 Not Found", async (path) => {
    const answer = await api.call("GET", path);
    expect(answer.status).toBe(404);
    expect(answer.headers.get("content-type")).toBe("application/json");
    expect(answer.text).toBe('{"detail":"Not Found"}');
  });

  it("matches on the decoded path, so an encoded slash can reach a route", async () => {
    const answer = await api.call("GET", "/api/alice/tasks%2F1");
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: 1 });
  });

  it("keeps a malformed escape as it is instead of refusing the request", async () => {
    const answer = await api.call("GET", "/api/%zz/tasks");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual([]);
  });
});

describe("a known path with another method", () => {
  // FastAPI names the methods of the first route declared for the path, and never adds HEAD.
  it.each([
    ["DELETE", "/api/alice/tasks", "GET"],
    ["PUT", "/api/alice/tasks", "GET"],
    ["PATCH", "/api/alice/tasks", "GET"],
    ["POST", "/api/alice/tasks/1", "GET"],
    ["PATCH", "/api/alice/tasks/1", "GET"],
    ["GET", "/api/alice/tasks/1/complete", "PATCH"],
    ["POST", "/api/alice/tasks/1/complete", "PATCH"],
    ["OPTIONS", "/api/alice/tasks", "GET"],
    ["PROPFIND", "/api/alice/tasks", "GET"],
  ] as const)("%s %s answers 405 with Allow: %s", async (method, path, allow) => {
    const answer = await api.call(method, path);
    expect(answer.status).toBe(405);
    expect(answer.headers.get("allow")).toBe(allow);
    expect(answer.headers.get("content-type")).toBe("application/json");
    expect(answer.text).toBe('{"detail":"Method Not Allowed"}');
  });

  it("answers 405 to HEAD, since FastAPI routes do not serve HEAD for GET", async () => {
    const answer = await api.call("HEAD", "/api/alice/tasks");
    expect(answer.status).toBe(405);
    expect(answer.headers.get("allow")).toBe("GET");
    expect(answer.text).toBe("");
  });

  it("answers 405 before looking at the id, so a non-numeric id is not a 422 there", async () => {
    const answer = await api.call("POST", "/api/alice/tasks/abc/complete");
    expect(answer.status).toBe(405);
  });
});

describe("a trailing slash", () => {
  it("redirects 307 to the path without it, keeping the query", async () => {
    const answer = await api.call("GET", "/api/alice/tasks/?status=pending");
    expect(answer.status).toBe(307);
    expect(answer.headers.get("location")).toBe(`${api.url}/api/alice/tasks?status=pending`);
    expect(answer.text).toBe("");
  });

  it("redirects whatever the method, as long as the path without it exists", async () => {
    const answer = await api.call("DELETE", "/api/alice/tasks/1//");
    expect(answer.status).toBe(307);
    expect(answer.headers.get("location")).toBe(`${api.url}/api/alice/tasks/1`);
  });

  it("is not redirected when the path without it does not exist either", async () => {
    expect((await api.call("GET", "/api/alice/nothing/")).status).toBe(404);
  });
});
