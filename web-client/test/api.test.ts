/**
 * The task API client's token handling, without a browser: a JWT is fetched once and reused,
 * a 401 triggers exactly one refresh and one retry, concurrent calls share a refresh, and
 * refusals become sentences. `fetch` is a recorded fake; the real round trip is in the
 * browser tests.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { describeTaskFailure, TaskApi, TokenKeeper } from "../src/api.ts";
import { ClientError } from "../src/errors.ts";

interface Call {
  readonly url: string;
  readonly authorization: string | undefined;
}

/** A fake `fetch` that accepts only the tokens in `valid` and records what it was sent. */
function fakeGateway(valid: Set<string>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
    const authorization = (init.headers as Record<string, string>)["authorization"];
    calls.push({ url, authorization });
    const token = authorization?.replace(/^Bearer /, "") ?? "";
    return valid.has(token) ? Response.json([], { status: 200 }) : new Response(null, { status: 401 });
  });
  return calls;
}

function issuer(...tokens: string[]) {
  const issued: string[] = [];
  const fetchJwt = vi.fn(async () => {
    const next = tokens.shift();
    if (next === undefined) throw new ClientError("session-ended", "gone");
    issued.push(next);
    return next;
  });
  return { fetchJwt, issued };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("TaskApi", () => {
  it("fetches a JWT once and reuses it", async () => {
    const calls = fakeGateway(new Set(["jwt-1"]));
    const { fetchJwt } = issuer("jwt-1");
    const api = new TaskApi("u1", new TokenKeeper(fetchJwt));
    await api.list("all");
    await api.list("pending");
    expect(fetchJwt).toHaveBeenCalledTimes(1);
    expect(calls.map((call) => call.url)).toEqual(["/api/u1/tasks", "/api/u1/tasks?status=pending"]);
    expect(calls.every((call) => call.authorization === "Bearer jwt-1")).toBe(true);
  });

  it("refreshes the JWT once on a 401 and retries with the new one", async () => {
    const valid = new Set(["jwt-1"]);
    const calls = fakeGateway(valid);
    const { fetchJwt } = issuer("jwt-1", "jwt-2");
    const api = new TaskApi("u1", new TokenKeeper(fetchJwt));
    await api.list("all");
    valid.clear(); // jwt-1 expires
    valid.add("jwt-2");
    await api.list("all");
    expect(fetchJwt).toHaveBeenCalledTimes(2);
    expect(calls.map((call) => call.authorization)).toEqual(["Bearer jwt-1", "Bearer jwt-1", "Bearer jwt-2"]);
  });

  it("gives up with session-ended when the fresh JWT is refused too, without a third try", async () => {
    const calls = fakeGateway(new Set());
    const { fetchJwt } = issuer("jwt-1", "jwt-2", "jwt-3");
    const api = new TaskApi("u1", new TokenKeeper(fetchJwt));
    await expect(api.list("all")).rejects.toMatchObject({ code: "session-ended" });
    expect(calls).toHaveLength(2);
    expect(fetchJwt).toHaveBeenCalledTimes(2);
  });

  it("gives up with session-ended when there is no session to get a JWT from", async () => {
    fakeGateway(new Set());
    const api = new TaskApi("u1", new TokenKeeper(issuer("jwt-1").fetchJwt));
    await expect(api.list("all")).rejects.toMatchObject({ code: "session-ended" });
  });

  it("shares one refresh between calls refused at the same time", async () => {
    const valid = new Set(["jwt-2"]);
    fakeGateway(valid);
    const { fetchJwt } = issuer("jwt-1", "jwt-2");
    const keeper = new TokenKeeper(fetchJwt);
    await keeper.current(); // jwt-1, already expired at the gateway
    const api = new TaskApi("u1", keeper);
    await Promise.all([api.list("all"), api.list("all"), api.toggle(3)]);
    expect(fetchJwt).toHaveBeenCalledTimes(2);
  });

  it("reports a failed connection as a network failure", async () => {
    vi.stubGlobal("fetch", async () => {
      throw new TypeError("Failed to fetch");
    });
    const api = new TaskApi("u1", new TokenKeeper(async () => "jwt"));
    await expect(api.create({ title: "t", description: "" })).rejects.toMatchObject({ code: "network" });
  });
});

describe("describeTaskFailure", () => {
  it("turns a FastAPI 422 into sentences about the fields", async () => {
    const response = Response.json(
      { detail: [{ type: "string_too_short", loc: ["body", "title"], msg: "String should have at least 1 character" }, { type: "string_too_long", loc: ["body", "description"], msg: "…" }] },
      { status: 422 },
    );
    const error = await describeTaskFailure(response);
    expect(error).toMatchObject({ code: "invalid-input", message: "Enter a title. The description is too long: at most 1000 characters." });
  });

  it("names the gateway's and the upstream's refusals", async () => {
    const problem = (status: number) => Response.json({ type: "about:blank", title: "x", status, detail: "x" }, { status });
    expect((await describeTaskFailure(problem(403))).code).toBe("forbidden");
    expect((await describeTaskFailure(problem(404))).code).toBe("not-found");
    expect((await describeTaskFailure(problem(502))).message).toBe("The task service is not answering right now (HTTP 502). Try again shortly.");
  });
});
