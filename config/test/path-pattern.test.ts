import { describe, expect, it } from "vitest";
import { bySpecificity, compileKnownPattern, compilePattern, patternsOverlap, PATH_PATTERN_SOURCE } from "../src/index.ts";

const p = compileKnownPattern;

describe("compilePattern", () => {
  it.each([
    ["/api/{user_id}/tasks", [{ kind: "literal", value: "api" }, { kind: "param", name: "user_id" }, { kind: "literal", value: "tasks" }]],
    ["/app/", [{ kind: "literal", value: "app" }, { kind: "literal", value: "" }]],
    ["/api/auth/*", [{ kind: "literal", value: "api" }, { kind: "literal", value: "auth" }, { kind: "rest" }]],
  ])("compiles %s", (path, segments) => {
    const params = (segments as { kind: string; name?: string }[]).flatMap((s) => (s.kind === "param" ? [s.name!] : []));
    expect(compilePattern(path)).toEqual({ segments, params });
  });

  it.each([
    ["api", '"api" must start with "/"'],
    ["/a//b", '"/a//b" has an empty segment'],
    ["/a/*/b", '"/a/*/b": "*" may only end a pattern'],
    ["/a/{x}/{x}", '"/a/{x}/{x}" names {x} twice'],
    ["/a/%2e", '"/a/%2e" is not a valid pattern (segment "%2e")'],
  ])("refuses %s", (path, problem) => {
    expect(compilePattern(path)).toEqual({ problem });
  });
});

describe("PATH_PATTERN_SOURCE (the route file schema's path pattern)", () => {
  // An editor checks paths with this expression; the gateway with compilePattern. They must agree.
  const schemaAccepts = new RegExp(PATH_PATTERN_SOURCE, "u");
  it.each([
    "/", "/app", "/app/", "/app/*", "/*", "/api/{user_id}/tasks", "/api/{u}/tasks/{id}/complete", "/a/{x}/{xy}",
    "/a/...", "/a/.b", "/~user/@me:1/x=y&z+(w)", "/a/b/",
    "", "api", "//", "/a//b", "/a/*/b", "/a/*/", "/**", "/a*", "/a/{x}/{x}", "/{a}/b/{a}/", "/.", "/..", "/a/./b",
    "/a/../b", "/a/%2e", "/{x", "/{1x}", "/{}", "/a b", "/a?b", "/a#b", "/a;b", "/ä", "/a\n", "/a/{x}*",
  ])("%j: the same verdict as compilePattern", (path) => {
    expect(schemaAccepts.test(path)).toBe(!("problem" in compilePattern(path)));
  });
});

describe("patternsOverlap", () => {
  it.each([
    ["/api/*", "/api/{u}/tasks", true],
    ["/api/{u}/tasks", "/api/*", true],
    ["/{a}/{b}", "/api/{u}", true],
    ["/api/{u}", "/api/{u}/tasks", false],
    ["/public/*", "/api/*", false],
    ["/app/", "/app/*", false],
    ["/app/*", "/app/x/", true],
    ["/*", "/healthz", true],
    ["/api/{u}/tasks/", "/api/{u}/tasks", false],
    ["/api/{u}", "/api/", false],
  ])("%s and %s: %s", (a, b, expected) => {
    expect(patternsOverlap(p(a), p(b))).toBe(expected);
  });
});

describe("bySpecificity", () => {
  it("orders a literal before a parameter before the rest, left to right", () => {
    const sorted = ["/api/*", "/api/{u}/tasks", "/api/auth/*", "/api/{u}"].map(p).sort(bySpecificity);
    expect(sorted).toEqual(["/api/auth/*", "/api/{u}/tasks", "/api/{u}", "/api/*"].map(p));
  });
});
