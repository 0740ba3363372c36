import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_ROUTE_TABLE_FILE, loadGatewayConfig, loadRouteTable, parseRouteTable, type RouteTableContext } from "../src/index.ts";

const SECRET = "s".repeat(40);
const context: RouteTableContext = {
  env: { NOTES_URL: "http://127.0.0.1:9000", NOTES_SECRET: SECRET, SHORT_SECRET: "short" },
  defaultTimeoutMs: 10_000,
  defaultMaxConnections: 256,
  defaultMaxQueue: 1024,
  stripAuthorization: false,
};
const dir = mkdtempSync(join(tmpdir(), "route-table-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(yaml: string, file = "routes.yaml"): string[] {
  try {
    parseRouteTable(yaml, file, context);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error("expected the table to be refused");
}

const base = (routes: string) => `upstreams:\n  notes: { url: "\${NOTES_URL}" }\nroutes:\n${routes}`;

describe("reading a route table", () => {
  it("reads YAML with interpolated URLs, defaults and the built-in ops routes first", () => {
    const table = parseRouteTable(
      base(`  - { name: notes.list, methods: [GET], path: "/notes/{owner}", upstream: notes, owner: "sub == owner", claims: { role: [editor, admin] }, headers: { X-User-Email: email } }`),
      "routes.yaml", context,
    );
    expect(table.upstreams).toEqual({ notes: { url: "http://127.0.0.1:9000", timeoutMs: 10_000, maxConnections: 256, maxQueue: 1024, authService: false } });
    expect(table.routes.map((r) => r.name)).toEqual(["healthz", "readyz", "metrics", "notes.list"]);
    expect(table.routes[3]).toEqual({
      name: "notes.list", methods: ["GET"], path: "/notes/{owner}", target: { kind: "upstream", upstream: "notes" },
      pattern: [{ kind: "literal", value: "notes" }, { kind: "param", name: "owner" }],
      auth: "jwt", owner: { claim: "sub", param: "owner" }, requiredClaims: { role: ["editor", "admin"] },
      claimHeaders: { "x-user-email": "email" }, credentials: { kind: "forward" },
    });
  });

  it("reads the same table from JSON", () => {
    const file = join(dir, "routes.json");
    writeFileSync(file, JSON.stringify({
      upstreams: { notes: { url: "http://127.0.0.1:9000", timeoutMs: 500 } },
      routes: [{ name: "notes", methods: ["GET"], path: "/notes", upstream: "notes", auth: "none" }],
    }));
    const table = loadRouteTable(file, context);
    expect(table.upstreams.notes!.timeoutMs).toBe(500);
    expect(table.routes[3]).toMatchObject({ name: "notes", auth: "none" });
  });

  it("defaults auth to jwt: a route is protected unless it says otherwise", () => {
    const table = parseRouteTable(base(`  - { name: n, methods: [GET], path: /n, upstream: notes }`), "r.yaml", context);
    expect(table.routes[3]!.auth).toBe("jwt");
  });

  it("resolves a mint secret from the environment, never from the file", () => {
    const table = parseRouteTable(base(`  - { name: n, methods: [GET], path: /n, upstream: notes, credentials: { mint: { secretEnv: NOTES_SECRET, claims: [sub, email], ttlSeconds: 30 } } }`), "r.yaml", context);
    expect(table.routes[3]!.credentials).toEqual({
      kind: "mint", algorithm: "HS256", secret: SECRET, claims: ["sub", "email"], issuer: undefined, audience: undefined, ttlSeconds: 30,
    });
  });

  it("ships the default table in the same format", () => {
    const table = loadRouteTable(DEFAULT_ROUTE_TABLE_FILE, { ...context, env: { LEGACY_API_URL: "http://l", AUTH_SERVICE_URL: "http://a" } });
    expect(Object.keys(table.upstreams)).toEqual(["legacy", "auth"]);
    expect(table.routes.filter((r) => r.auth === "jwt")).toHaveLength(6);
  });
});

describe("a bad table: one line per problem, naming file, route and field", () => {
  it.each([
    ["an unknown field", `  - { name: n, methods: [GET], path: /n, upstream: notes, upsteam: x }`,
      'routes.yaml: routes[0].upsteam: unknown field'],
    ["a bad pattern", `  - { name: n, methods: [GET], path: "/n/{id", upstream: notes }`,
      'routes.yaml: routes[0].path: "/n/{id" is not a valid pattern'],
    ["a star in the middle", `  - { name: n, methods: [GET], path: "/n/*/x", upstream: notes }`,
      'routes.yaml: routes[0].path: "/n/*/x": "*" may only end a pattern'],
    ["a dot segment", `  - { name: n, methods: [GET], path: "/n/../x", upstream: notes }`,
      'routes.yaml: routes[0].path: "/n/../x" is not a valid pattern'],
    ["an unknown upstream", `  - { name: n, methods: [GET], path: /n, upstream: billing }`,
      'routes.yaml: routes[0].upstream: "billing" is not a declared upstream (notes)'],
    ["an unknown method", `  - { name: n, methods: [GET, FETCH], path: /n, upstream: notes }`,
      'routes.yaml: routes[0].methods: "FETCH" is not one of'],
    ["an owner parameter missing from the path", `  - { name: n, methods: [GET], path: /n, upstream: notes, owner: "sub == user_id" }`,
      "routes.yaml: routes[0].owner: {user_id} is not a parameter of the path"],
    ["a missing secret", `  - { name: n, methods: [GET], path: /n, upstream: notes, credentials: { mint: { secretEnv: MISSING_SECRET } } }`,
      "routes.yaml: routes[0].credentials.mint.secretEnv: MISSING_SECRET is not set"],
    ["a short secret", `  - { name: n, methods: [GET], path: /n, upstream: notes, credentials: { mint: { secretEnv: SHORT_SECRET } } }`,
      "routes.yaml: routes[0].credentials.mint.secretEnv: SHORT_SECRET must be at least 32 bytes"],
    ["a header the gateway owns", `  - { name: n, methods: [GET], path: /n, upstream: notes, headers: { X-User-Id: email } }`,
      "routes.yaml: routes[0].headers.X-User-Id: is set by the gateway itself"],
    ["claims on a public route", `  - { name: n, methods: [GET], path: /n, upstream: notes, auth: none, claims: { role: admin } }`,
      "routes.yaml: routes[0].claims: needs auth: jwt"],
    ["two targets", `  - { name: n, methods: [GET], path: /n, upstream: notes, redirect: /x }`,
      "routes.yaml: routes[0].upstream: exactly one of upstream, serve or redirect is required"],
    ["the gateway's own endpoint", `  - { name: n, methods: [GET], path: /healthz, upstream: notes }`,
      "routes.yaml: routes[0].path: /healthz is the gateway's own /healthz endpoint"],
    ["an underscore in a claim header", `  - { name: n, methods: [GET], path: /n, upstream: notes, headers: { X_User_Email: email } }`,
      'routes.yaml: routes[0].headers.X_User_Email: must not contain "_"'],
    ["a routing-override header as a claim header", `  - { name: n, methods: [GET], path: /n, upstream: notes, headers: { X-Original-URL: email } }`,
      "routes.yaml: routes[0].headers.X-Original-URL: is set by the gateway itself"],
    ["a hop-by-hop header as a claim header", `  - { name: n, methods: [GET], path: /n, upstream: notes, headers: { Proxy-Connection: email } }`,
      "routes.yaml: routes[0].headers.Proxy-Connection: is set by the gateway itself"],
    ["a framing header as a claim header", `  - { name: n, methods: [GET], path: /n, upstream: notes, headers: { Expect: email } }`,
      "routes.yaml: routes[0].headers.Expect: is set by the gateway itself"],
    ["a provenance header as a claim header", `  - { name: n, methods: [GET], path: /n, upstream: notes, headers: { Forwarded: email } }`,
      "routes.yaml: routes[0].headers.Forwarded: is set by the gateway itself"],

  ])("reports %s", (_what, routes, expected) => {
    const lines = problems(base(routes));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(expected);
  });

  it("reports a duplicate route name", () => {
    const lines = problems(base(`  - { name: n, methods: [GET], path: /a, upstream: notes }\n  - { name: n, methods: [GET], path: /b, upstream: notes }`));
    expect(lines).toEqual(['routes.yaml: routes[1].name: "n" is used by another route']);
  });

  it("reports two routes that match the same requests, whatever their parameter names", () => {
    const lines = problems(base(`  - { name: a, methods: [GET, POST], path: "/n/{id}", upstream: notes }\n  - { name: b, methods: [POST], path: "/n/{key}", upstream: notes }`));
    expect(lines).toEqual(["routes.yaml: routes[1].path: POST /n/{key} is ambiguous with routes[0] (a): both match the same requests"]);
  });

  it("refuses a public route that can match a protected route's paths on the same upstream", () => {
    // The attack it prevents: with /api/* public next to /api/{user_id}/tasks, a path the upstream
    // normalizes differently (an escape, a trailing slash, case) reaches alice's tasks untokened.
    const lines = problems(base(`  - { name: open, methods: [GET, POST], path: "/api/*", upstream: notes, auth: none }\n  - { name: tasks, methods: [GET], path: "/api/{user_id}/tasks", upstream: notes, owner: sub == user_id }`));
    expect(lines).toEqual([
      "routes.yaml: routes[0].path: public /api/* can match paths of routes[1] (tasks, auth: jwt) on the same upstream notes; narrow it or protect it",
    ]);
    // A parameter meets a literal too: /{section}/tasks public beside /api/{user_id} protected.
    expect(problems(base(`  - { name: open, methods: [GET], path: "/{a}/{b}", upstream: notes, auth: none }\n  - { name: p, methods: [GET], path: "/api/{user_id}", upstream: notes }`))).toHaveLength(1);
  });

  it("refuses the normalizations an upstream may apply: a trailing slash, case, HEAD for GET", () => {
    // Each was found to reach alice's tasks untokened on an Express-like upstream.
    for (const open of [
      `{ name: open, methods: [GET], path: "/api/{u}/tasks/", upstream: notes, auth: none }`,
      `{ name: open, methods: [GET], path: "/API/*", upstream: notes, auth: none }`,
      `{ name: open, methods: [HEAD], path: "/api/*", upstream: notes, auth: none }`,
    ]) {
      const lines = problems(base(`  - ${open}\n  - { name: tasks, methods: [GET], path: "/api/{user_id}/tasks", upstream: notes, owner: sub == user_id }`));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("can match paths of routes[1] (tasks, auth: jwt) on the same upstream notes");
    }
  });

  it("accepts a public route beside protected ones where no path can match both", () => {
    const upstreams = `upstreams:\n  notes: { url: "\${NOTES_URL}" }\n  other: { url: "http://127.0.0.1:9001" }\nroutes:\n`;
    // Another method, another upstream, or disjoint literals: no shadowing possible.
    for (const routes of [
      `  - { name: open, methods: [POST], path: "/api/*", upstream: notes, auth: none }\n  - { name: p, methods: [GET], path: "/api/{u}/tasks", upstream: notes }`,
      `  - { name: open, methods: [GET], path: "/api/*", upstream: other, auth: none }\n  - { name: p, methods: [GET], path: "/api/{u}/tasks", upstream: notes }`,
      `  - { name: open, methods: [GET], path: "/public/*", upstream: notes, auth: none }\n  - { name: p, methods: [GET], path: "/api/{u}/tasks", upstream: notes }`,
      `  - { name: open, methods: [GET], path: "/api/{u}/tasks/x", upstream: notes, auth: none }\n  - { name: p, methods: [GET], path: "/api/{u}", upstream: notes }`,
    ]) {
      expect(() => parseRouteTable(upstreams + routes, "r.yaml", context)).not.toThrow();
    }
  });

  it("refuses a route that mints with the secret the gateway accepts HS* tokens with", () => {
    const accepting = { ...context, acceptedHmacSecret: SECRET };
    expect(() => parseRouteTable(base(`  - { name: n, methods: [GET], path: /n, upstream: notes, credentials: { mint: { secretEnv: NOTES_SECRET } } }`), "r.yaml", accepting)).toThrow(
      "r.yaml: routes[0].credentials.mint.secretEnv: NOTES_SECRET is the secret the gateway accepts HS* tokens with (JWT_ALGORITHMS): it would accept the tokens it mints; give the upstream its own secret",
    );
  });

  it("reads an upstream's connection and queue bounds, with the environment's defaults", () => {
    const table = parseRouteTable(`upstreams:\n  notes: { url: "\${NOTES_URL}", maxConnections: 8, maxQueue: 0 }\nroutes:\n  - { name: n, methods: [GET], path: /n, upstream: notes }`, "r.yaml", context);
    expect(table.upstreams.notes).toMatchObject({ maxConnections: 8, maxQueue: 0 });
    expect(problems(`upstreams:\n  notes: { url: "\${NOTES_URL}", maxQueue: -1 }\nroutes:\n  - { name: n, methods: [GET], path: /n, upstream: notes }`)).toEqual([
      "routes.yaml: upstreams.notes.maxQueue: must be a whole number of requests (0-1000000)",
    ]);
  });

  it("marks the upstream at AUTH_SERVICE_URL as the auth-service (it alone gets its session cookies)", () => {
    const table = loadRouteTable(DEFAULT_ROUTE_TABLE_FILE, { ...context, env: { LEGACY_API_URL: "http://l:1", AUTH_SERVICE_URL: "http://a:2/" } });
    expect(table.upstreams.auth!.authService).toBe(true);
    expect(table.upstreams.legacy!.authService).toBe(false);
  });

  it("accepts overlap that precedence resolves (a literal beats a parameter)", () => {
    expect(() => parseRouteTable(base(`  - { name: a, methods: [GET], path: "/n/{id}", upstream: notes }\n  - { name: b, methods: [GET], path: "/n/new", upstream: notes }`), "r.yaml", context)).not.toThrow();
  });

  it("reports an unset ${VARIABLE} and a bad URL", () => {
    expect(problems(`upstreams:\n  x: { url: "\${NOPE}/api" }\nroutes:\n  - { name: n, methods: [GET], path: /n, upstream: x }`)[0]).toBe(
      "routes.yaml: upstreams.x.url: uses ${NOPE}, which is not set",
    );
  });

  it("reports every problem of a table at once, with the route index", () => {
    const lines = problems(base(`  - { name: ok, methods: [GET], path: /ok, upstream: notes }\n  - { name: bad, methods: [], path: nope, upstream: ghost }`));
    expect(lines).toEqual([
      "routes.yaml: routes[1].methods: must be a non-empty list of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
      'routes.yaml: routes[1].path: "nope" must start with "/"',
      'routes.yaml: routes[1].upstream: "ghost" is not a declared upstream (notes)',
    ]);
  });

  it("reports YAML that does not parse, and a file that does not exist", () => {
    expect(problems("routes: [", "broken.yaml")[0]).toMatch(/^broken\.yaml: is not valid YAML/);
    expect(() => loadRouteTable(join(dir, "nope.yaml"), context)).toThrow(/nope\.yaml: cannot be read \(ENOENT\)/);
  });

  it("stops the gateway's configuration on a bad GATEWAY_CONFIG file", () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, base(`  - { name: n, methods: [GET], path: /n, upstream: ghost }`));
    expect(() => loadGatewayConfig({ GATEWAY_CONFIG: file, NOTES_URL: "http://127.0.0.1:9" })).toThrow(/bad\.yaml: routes\[0\]\.upstream/);
  });
});
