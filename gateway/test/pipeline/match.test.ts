/**
 * The match stage on its own: which route a guarded path reaches, with which still-encoded
 * parameters, and the 404 / 405 (with its Allow set) for the others. Tables are built from
 * RouteSpec objects compiled with config's own pattern compiler, and from the real default
 * table; the same routing over sockets is in pipeline/routes.test.ts and
 * security/route-shadowing.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_ROUTE_TABLE_FILE, compileKnownPattern, gatewayRouteTableContext, loadRouteTable,
  type HttpMethod, type RouteSpec,
} from "@todo-gateway/config";
import { MalformedTargetError, MethodNotAllowedError, RouteNotFoundError } from "../../src/errors.ts";
import { RouteMatcher, type RouteMatch } from "../../src/pipeline/match.ts";

function route(name: string, path: string, methods: readonly HttpMethod[] = ["GET"]): RouteSpec {
  return {
    name, methods, path, pattern: compileKnownPattern(path),
    target: { kind: "upstream", upstream: "api" }, auth: "none", credentials: { kind: "strip" },
  };
}

/** Splits a path as guardTarget does (segments after the first "/", still encoded). */
function segments(path: string): string[] {
  return path.slice(1).split("/");
}

function matched(matcher: RouteMatcher, method: string, path: string): { name: string; params: RouteMatch["params"] } {
  const { route: found, params } = matcher.match(method, segments(path));
  return { name: found.spec.name, params };
}

function refusal(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error("expected a refusal, got none");
}

function expectNotFound(matcher: RouteMatcher, method: string, path: string): void {
  const error = refusal(() => matcher.match(method, segments(path)));
  expect(error).toBeInstanceOf(RouteNotFoundError);
  expect(error).toMatchObject({ status: 404, detail: "no route matches this path" });
}

function expectMethodNotAllowed(matcher: RouteMatcher, method: string, path: string, allow: string[]): void {
  const error = refusal(() => matcher.match(method, segments(path)));
  expect(error).toBeInstanceOf(MethodNotAllowedError);
  expect(error).toMatchObject({ status: 405, allow, detail: `this path accepts ${allow.join(", ")}` });
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe("specificity, whatever the order of the table", () => {
  const specs = [
    route("public.rest", "/api/*"),
    route("user.tasks", "/api/{user_id}/tasks"),
    route("auth.rest", "/api/auth/*"),
    route("me.tasks", "/api/me/tasks"),
    route("user.any", "/api/{user_id}/{thing}"),
  ];
  const orders = permutations(specs);

  it.each([
    ["a literal beats a parameter", "/api/me/tasks", "me.tasks", {}],
    ["a literal beats a parameter that a later literal follows", "/api/auth/tasks", "auth.rest", { "*": "tasks" }],
    ["a parameter beats '*'", "/api/alice/tasks", "user.tasks", { user_id: "alice" }],
    ["hands a literal that does not match on to a parameter route", "/api/me/other", "user.any", { user_id: "me", thing: "other" }],
    ["two parameters beat '*'", "/api/alice/notes", "user.any", { user_id: "alice", thing: "notes" }],
    ["'*' takes what nothing more specific matches", "/api/alice/tasks/1", "public.rest", { "*": "alice/tasks/1" }],
    ["needs a segment of its own for '*' after a literal (/api/auth goes to /api/*)", "/api/auth", "public.rest", { "*": "auth" }],
  ])("%s (%s -> %s) in all 120 orders", (_behaviour, path, name, params) => {
    expect(orders).toHaveLength(120);
    for (const order of orders) expect(matched(new RouteMatcher(order), "GET", path)).toEqual({ name, params });
  });

  it("decides left to right: /a/b/* beats /a/{x}/c for /a/b/c", () => {
    for (const order of permutations([route("param.then.literal", "/a/{x}/c"), route("literal.then.rest", "/a/b/*")])) {
      expect(matched(new RouteMatcher(order), "GET", "/a/b/c")).toEqual({ name: "literal.then.rest", params: { "*": "c" } });
    }
  });

  it("keeps the table's order between routes of the same shape (they differ by method)", () => {
    const matcher = new RouteMatcher([route("first", "/x/{id}", ["GET"]), route("second", "/x/{id}", ["POST"])]);
    expect(matched(matcher, "GET", "/x/1").name).toBe("first");
    expect(matched(matcher, "POST", "/x/1").name).toBe("second");
  });

  it("falls through to a less specific route that accepts the method", () => {
    const matcher = new RouteMatcher([route("tasks.read", "/api/{user_id}/tasks", ["GET"]), route("public.write", "/api/*", ["POST"])]);
    expect(matched(matcher, "POST", "/api/alice/tasks")).toEqual({ name: "public.write", params: { "*": "alice/tasks" } });
  });
});

describe("parameters", () => {
  const matcher = new RouteMatcher([
    route("task", "/api/{user_id}/tasks/{id}"),
    route("files", "/files/*"),
  ]);

  it.each([
    ["names every parameter", "/api/alice/tasks/7", { user_id: "alice", id: "7" }],
    ["keeps a parameter percent-encoded", "/api/al%69ce/tasks/7", { user_id: "al%69ce", id: "7" }],
    ["keeps an encoded space encoded", "/api/al%20ice/tasks/%37", { user_id: "al%20ice", id: "%37" }],
    ["does not decode a parameter's UTF-8 (that is authorize's job)", "/api/%ff/tasks/1", { user_id: "%ff", id: "1" }],
    ["keeps the case of a parameter", "/api/ALICE/tasks/x", { user_id: "ALICE", id: "x" }],
  ])("%s", (_behaviour, path, params) => {
    expect(matched(matcher, "GET", path)).toEqual({ name: "task", params });
  });

  it.each([
    ["one segment", "/files/a.txt", "a.txt"],
    ["several segments, joined by '/'", "/files/a/b/c.txt", "a/b/c.txt"],
    ["segments still encoded", "/files/a%20b/%C3%A9", "a%20b/%C3%A9"],
    ["a trailing slash after a segment", "/files/a/", "a/"],
  ])("gives '*' %s", (_behaviour, path, rest) => {
    expect(matched(matcher, "GET", path)).toEqual({ name: "files", params: { "*": rest } });
  });

  it.each([
    ["the parameter's segment is empty", "/api//tasks/7"],
    ["the last parameter's segment is empty", "/api/alice/tasks/"],
  ])("never matches a parameter to an empty segment (%s)", (_behaviour, path) => {
    expectNotFound(matcher, "GET", path);
  });

  it.each([
    ["nothing follows it", "/files"],
    ["only an empty segment follows it", "/files/"],
  ])("needs at least one non-empty segment for '*' (%s)", (_behaviour, path) => {
    expectNotFound(matcher, "GET", path);
  });
});

describe("literal segments", () => {
  const matcher = new RouteMatcher([route("tasks", "/api/{user_id}/tasks"), route("app.index", "/app/"), route("app", "/app")]);

  it.each([
    ["matches an escaped letter decoded", "/api/alice/%74asks", "tasks", { user_id: "alice" }],
    ["matches a fully escaped literal decoded", "/api/alice/%74%61%73%6B%73", "tasks", { user_id: "alice" }],
    ["matches escapes in lower-case hex", "/api/alice/t%61sks", "tasks", { user_id: "alice" }],
    ["matches a literal escaped in the first segment", "/%61pi/alice/tasks", "tasks", { user_id: "alice" }],
    ["tells a trailing-slash literal from the bare path", "/app/", "app.index", {}],
    ["tells the bare path from a trailing-slash literal", "/app", "app", {}],
  ])("%s", (_behaviour, path, name, params) => {
    expect(matched(matcher, "GET", path)).toEqual({ name, params });
  });

  it.each([
    ["in another case", "/api/alice/Tasks"],
    ["escaped in another case", "/api/alice/%54asks"],
    ["escaped twice", "/api/alice/%2574asks"],
    ["with a trailing slash the pattern lacks", "/api/alice/tasks/"],
    ["with an extra segment", "/api/alice/tasks/1"],
    ["after a trailing-slash literal", "/app/x"],
  ])("does not match a literal %s", (_behaviour, path) => {
    expectNotFound(matcher, "GET", path);
  });

  it("refuses a non-UTF-8 escape where it is compared with a literal (400, not 404)", () => {
    const error = refusal(() => matcher.match("GET", segments("/api/alice/t%ffsks")));
    expect(error).toBeInstanceOf(MalformedTargetError);
    expect(error).toMatchObject({ detail: "the path contains a percent-escape that is not UTF-8" });
  });
});

describe("404 and 405", () => {
  const matcher = new RouteMatcher([
    route("tasks.list", "/api/{user_id}/tasks", ["GET"]),
    route("tasks.create", "/api/{user_id}/tasks", ["POST"]),
    route("public", "/api/*", ["PUT", "GET"]),
    route("health", "/healthz", ["GET", "HEAD"]),
  ]);

  it.each([
    ["a path no route matches", "GET", "/nothing"],
    ["a path no route matches, whatever the method", "DELETE", "/nothing"],
    ["a path one segment short of a route", "GET", "/"],
    ["a path one segment past a route", "GET", "/healthz/x"],
  ])("answers 404 for %s", (_behaviour, method, path) => {
    expectNotFound(matcher, method, path);
  });

  it.each([
    ["lists the methods of one route", "POST", "/healthz", ["GET", "HEAD"]],
    ["merges the methods of every route matching the path, most specific first", "DELETE", "/api/alice/tasks", ["GET", "POST", "PUT"]],
    ["lists a method once when several routes accept it", "PATCH", "/api/alice/tasks", ["GET", "POST", "PUT"]],
    ["lists only the routes matching the path", "DELETE", "/api/alice/notes", ["PUT", "GET"]],
    ["does not accept HEAD for a GET-only route", "HEAD", "/api/alice/tasks", ["GET", "POST", "PUT"]],
    ["treats methods case-sensitively", "get", "/healthz", ["GET", "HEAD"]],
    ["answers an unknown method", "PROPFIND", "/healthz", ["GET", "HEAD"]],
  ])("answers 405 and %s", (_behaviour, method, path, allow) => {
    expectMethodNotAllowed(matcher, method, path, allow);
  });
});

describe("the default route table", () => {
  const table = loadRouteTable(DEFAULT_ROUTE_TABLE_FILE, gatewayRouteTableContext({}));
  const matcher = new RouteMatcher(table.routes);

  it.each([
    ["GET", "/", "root", {}],
    ["GET", "/app", "app.redirect", {}],
    ["HEAD", "/app/", "app.index", {}],
    ["GET", "/app/assets/index.js", "app.files", { "*": "assets/index.js" }],
    ["POST", "/api/auth/sign-in/email", "auth", { "*": "sign-in/email" }],
    ["GET", "/api/auth/tasks", "auth", { "*": "tasks" }],
    ["OPTIONS", "/api/auth/session", "auth", { "*": "session" }],
    ["GET", "/api/alice/tasks", "tasks.list", { user_id: "alice" }],
    ["POST", "/api/alice/tasks", "tasks.create", { user_id: "alice" }],
    ["GET", "/api/alice/%74asks", "tasks.list", { user_id: "alice" }],
    ["GET", "/api/al%69ce/tasks", "tasks.list", { user_id: "al%69ce" }],
    ["GET", "/api/alice/tasks/7", "tasks.get", { user_id: "alice", id: "7" }],
    ["PUT", "/api/alice/tasks/7", "tasks.update", { user_id: "alice", id: "7" }],
    ["DELETE", "/api/alice/tasks/7", "tasks.delete", { user_id: "alice", id: "7" }],
    ["PATCH", "/api/alice/tasks/7/complete", "tasks.complete", { user_id: "alice", id: "7" }],
    ["GET", "/healthz", "healthz", {}],
    ["HEAD", "/readyz", "readyz", {}],
    ["GET", "/metrics", "metrics", {}],
    ["GET", "/%68ealthz", "healthz", {}],
  ])("routes %s %s to %s", (method, path, name, params) => {
    expect(matched(matcher, method, path)).toEqual({ name, params });
  });

  it.each(["/api", "/api/", "/api/alice", "/api/alice/tasks/", "/api/alice/tasks/1/2", "/api/alice/tasks/1/complete/x", "/api/auth", "/api/auth/", "/admin", "/healthz/x", "/favicon.ico", "/api/alice/Tasks"])(
    "answers 404 for %s",
    (path) => {
      expectNotFound(matcher, "GET", path);
    },
  );

  it.each([
    ["DELETE", "/api/alice/tasks", ["GET", "POST"]],
    ["HEAD", "/api/alice/tasks", ["GET", "POST"]],
    ["POST", "/api/alice/tasks/1", ["GET", "PUT", "DELETE"]],
    ["GET", "/api/alice/tasks/1/complete", ["PATCH"]],
    ["POST", "/healthz", ["GET", "HEAD"]],
    ["DELETE", "/metrics", ["GET"]],
    ["POST", "/app/index.html", ["GET", "HEAD"]],
    ["CONNECT", "/api/auth/x", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]],
  ])("answers 405 for %s %s with Allow %j", (method, path, allow) => {
    expectMethodNotAllowed(matcher, method, path, allow);
  });
});
