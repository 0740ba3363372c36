/**
 * The authorize stage on its own: a verified token against a matched route's rules. Required
 * claims come first, then ownership: the path parameter, percent-decoded, must equal the claim
 * exactly. The same rules over sockets are in security/claims.test.ts and
 * security/tampering.test.ts.
 */
import { describe, expect, it } from "vitest";
import { compileKnownPattern, type ClaimValue, type RouteSpec } from "@todo-gateway/config";
import type { VerifiedToken } from "../../src/auth/verifier.ts";
import { ForbiddenError, MalformedTargetError } from "../../src/errors.ts";
import { authorize } from "../../src/pipeline/authorize.ts";
import { RouteMatcher, type RouteMatch } from "../../src/pipeline/match.ts";

const NOT_OWNER = "the token does not grant access to this resource";
const LACKS_CLAIM = "the token lacks a claim this route requires";

function protectedRoute(path: string, rules: Pick<RouteSpec, "owner" | "requiredClaims">): RouteSpec {
  return {
    name: "protected", methods: ["GET"], path, pattern: compileKnownPattern(path),
    target: { kind: "upstream", upstream: "api" }, auth: "jwt", credentials: { kind: "strip" }, ...rules,
  };
}

/** The match the real matcher gives for `path` on a one-route table. */
function matchOf(spec: RouteSpec, path: string): RouteMatch {
  return new RouteMatcher([spec]).match("GET", path.slice(1).split("/"));
}

/** A verified token as the verifier hands it on: `claims` is the whole payload. */
function identity(claims: Record<string, unknown>): VerifiedToken {
  return { sub: claims.sub as string, claims, expiresAtMs: Number.MAX_SAFE_INTEGER, keyGeneration: 1 };
}

function refusal(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error("expected a refusal, got none");
}

function expectForbidden(call: () => unknown, detail: string): void {
  const error = refusal(call);
  expect(error).toBeInstanceOf(ForbiddenError);
  expect(error).toMatchObject({ code: "forbidden", status: 403, detail });
}

describe("the owner rule (sub == user_id)", () => {
  const tasks = protectedRoute("/api/{user_id}/tasks", { owner: { claim: "sub", param: "user_id" } });

  it.each([
    ["grants the owner", "/api/alice/tasks", "alice"],
    ["grants an owner whose segment is percent-encoded", "/api/%61lice/tasks", "alice"],
    ["grants an owner whose segment is fully percent-encoded", "/api/%61%6C%69%63%65/tasks", "alice"],
    ["grants a sub with a space, encoded in the path", "/api/al%20ice/tasks", "al ice"],
    ["grants a UTF-8 sub, encoded in the path", "/api/jos%C3%A9/tasks", "josé"],
    ["grants a sub that holds a percent sign, encoded once", "/api/100%25/tasks", "100%"],
    ["grants a sub with URL-ish characters left raw", "/api/user:1@x/tasks", "user:1@x"],
  ])("%s", (_behaviour, path, sub) => {
    expect(() => authorize(matchOf(tasks, path), identity({ sub }))).not.toThrow();
  });

  it.each([
    ["another user", "/api/bob/tasks", "alice"],
    ["another case", "/api/Alice/tasks", "alice"],
    ["another case, encoded", "/api/%41lice/tasks", "alice"],
    ["a prefix of the sub", "/api/alic/tasks", "alice"],
    ["the sub with a suffix", "/api/alice2/tasks", "alice"],
    ["an encoded trailing space", "/api/alice%20/tasks", "alice"],
    ["an encoded percent-escape of the sub (decoded once only)", "/api/%2561lice/tasks", "alice"],
    ["the sub's raw escape where the sub holds the escape text", "/api/a%20b/tasks", "a%20b"],
    ["a '+' read as a space", "/api/al+ice/tasks", "al ice"],
    ["another Unicode normalization of the same name", "/api/jose%CC%81/tasks", "josé"],
  ])("refuses %s", (_behaviour, path, sub) => {
    expectForbidden(() => authorize(matchOf(tasks, path), identity({ sub })), NOT_OWNER);
  });

  it("refuses a segment whose escapes are not UTF-8 as a malformed target", () => {
    const error = refusal(() => authorize(matchOf(tasks, "/api/%ff/tasks"), identity({ sub: "\uFFFD" })));
    expect(error).toBeInstanceOf(MalformedTargetError);
    expect(error).toMatchObject({ status: 400, detail: "the path contains a percent-escape that is not UTF-8" });
  });

  it("refuses a route whose owner parameter the match lacks", () => {
    const misnamed = protectedRoute("/api/{user_id}/tasks", { owner: { claim: "sub", param: "owner_id" } });
    expectForbidden(() => authorize(matchOf(misnamed, "/api/alice/tasks"), identity({ sub: "alice", owner_id: "alice" })), NOT_OWNER);
  });

  it("reads the verified sub, not a payload member of the same name", () => {
    const token: VerifiedToken = { sub: "alice", claims: { sub: "bob" }, expiresAtMs: Number.MAX_SAFE_INTEGER, keyGeneration: 1 };
    expect(() => authorize(matchOf(tasks, "/api/alice/tasks"), token)).not.toThrow();
    expectForbidden(() => authorize(matchOf(tasks, "/api/bob/tasks"), token), NOT_OWNER);
  });
});

describe("the owner rule on another claim (org == org_id)", () => {
  const orgs = protectedRoute("/orgs/{org_id}/reports", { owner: { claim: "org", param: "org_id" } });
  const path = "/orgs/42/reports";

  it("grants a string claim equal to the decoded parameter", () => {
    expect(() => authorize(matchOf(orgs, path), identity({ sub: "alice", org: "42" }))).not.toThrow();
    expect(() => authorize(matchOf(orgs, "/orgs/%34%32/reports"), identity({ sub: "alice", org: "42" }))).not.toThrow();
  });

  it.each([
    ["a number, even with the same digits", 42],
    ["a boolean", true],
    ["null", null],
    ["an array holding the value", ["42"]],
    ["an object", { id: "42" }],
    ["a missing claim", undefined],
  ])("refuses an owner claim that is %s", (_behaviour, org) => {
    expectForbidden(() => authorize(matchOf(orgs, path), identity({ sub: "42", ...(org !== undefined && { org }) })), NOT_OWNER);
  });

  it("does not fall back to sub when the owner claim is missing", () => {
    expectForbidden(() => authorize(matchOf(orgs, path), identity({ sub: "42" })), NOT_OWNER);
  });
});

describe("required claims", () => {
  function route(requiredClaims: Record<string, readonly ClaimValue[]>): RouteSpec {
    return protectedRoute("/admin", { requiredClaims });
  }
  const admin = (requiredClaims: Record<string, readonly ClaimValue[]>) => matchOf(route(requiredClaims), "/admin");

  it.each([
    ["a scalar claim equal to the listed value", { role: ["admin"] }, { role: "admin" }],
    ["a scalar claim equal to one of several listed values", { role: ["admin", "ops"] }, { role: "ops" }],
    ["an array claim containing the listed value", { scope: ["tasks:admin"] }, { scope: ["tasks:read", "tasks:admin"] }],
    ["an array claim containing one of several listed values", { scope: ["a", "b"] }, { scope: ["x", "b"] }],
    ["a number claim", { level: [3] }, { level: 3 }],
    ["a boolean claim", { email_verified: [true] }, { email_verified: true }],
    ["every one of several required claims", { role: ["admin"], email_verified: [true] }, { role: "admin", email_verified: true }],
    ["no required claims at all", {}, {}],
  ])("grants %s", (_behaviour, required, claims) => {
    expect(() => authorize(admin(required), identity({ sub: "alice", ...claims }))).not.toThrow();
  });

  it.each([
    ["a missing claim", { role: ["admin"] }, {}],
    ["a different value", { role: ["admin"] }, { role: "user" }],
    ["a value in another case", { role: ["admin"] }, { role: "Admin" }],
    ["a string where a number is listed", { level: [3] }, { level: "3" }],
    ["a number where a string is listed", { role: ["3"] }, { role: 3 }],
    ["a string where a boolean is listed", { email_verified: [true] }, { email_verified: "true" }],
    ["1 where true is listed", { email_verified: [true] }, { email_verified: 1 }],
    ["null", { role: ["admin"] }, { role: null }],
    ["an object holding the value", { role: ["admin"] }, { role: { admin: true } }],
    ["an empty array", { scope: ["tasks:admin"] }, { scope: [] }],
    ["an array without the value", { scope: ["tasks:admin"] }, { scope: ["tasks:read"] }],
    ["a nested array holding the value", { scope: ["tasks:admin"] }, { scope: [["tasks:admin"]] }],
    ["a space-separated string holding the value", { scope: ["tasks:admin"] }, { scope: "tasks:read tasks:admin" }],
    ["one of two required claims missing", { role: ["admin"], email_verified: [true] }, { role: "admin" }],
  ])("refuses %s", (_behaviour, required, claims) => {
    expectForbidden(() => authorize(admin(required), identity({ sub: "alice", ...claims })), LACKS_CLAIM);
  });

  it("does not read a claim off the object prototype", () => {
    expectForbidden(() => authorize(admin({ constructor: ["x"] }), identity({ sub: "alice" })), LACKS_CLAIM);
  });
});

describe("the order of the checks", () => {
  const both = protectedRoute("/api/{user_id}/admin", { owner: { claim: "sub", param: "user_id" }, requiredClaims: { role: ["admin"] } });

  it.each([
    ["grants an owner with the required claim", "/api/alice/admin", { sub: "alice", role: "admin" }, undefined],
    ["refuses an owner without the required claim for the claim", "/api/alice/admin", { sub: "alice", role: "user" }, LACKS_CLAIM],
    ["refuses a non-owner with the required claim for ownership", "/api/bob/admin", { sub: "alice", role: "admin" }, NOT_OWNER],
    ["refuses a non-owner without the claim for the claim, checked first", "/api/bob/admin", { sub: "alice" }, LACKS_CLAIM],
  ])("%s", (_behaviour, path, claims, detail) => {
    const call = () => authorize(matchOf(both, path), identity(claims));
    if (detail === undefined) expect(call).not.toThrow();
    else expectForbidden(call, detail);
  });

  it("checks required claims before it decodes the owner segment", () => {
    expectForbidden(() => authorize(matchOf(both, "/api/%ff/admin"), identity({ sub: "alice" })), LACKS_CLAIM);
  });

  it("lets a route without rules through", () => {
    const open = protectedRoute("/api/{user_id}/public", {});
    expect(() => authorize(matchOf(open, "/api/bob/public"), identity({ sub: "alice" }))).not.toThrow();
  });
});
