/**
 * The route-file format has one definition (src/route-file-format.ts) and four readers of it: the
 * gateway's validator, the published JSON Schema an editor checks files with, the README's
 * tables and the TypeScript shapes (checked by `npm run typecheck`). These tests fail when any of
 * them drifts: a stale schema or README, a validator and a schema that disagree on a file.
 */
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject } from "ajv";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_ROUTE_TABLE_FILE, parseRouteTable, type RouteFile, type RouteTableContext } from "../src/index.ts";
import { CONFIG_README_FILE, updateReadmeTables } from "../src/route-file-docs.ts";
import { fieldNames, type RouteFileObject } from "../src/route-file-format.ts";
import { ROUTE_TABLE_SCHEMA_FILE, renderRouteTableSchema } from "../src/route-file-schema.ts";

const REGENERATE = "out of date: run `npm run schema -w config` and commit the result";
const committedSchema = readFileSync(ROUTE_TABLE_SCHEMA_FILE, "utf8");
const readme = readFileSync(CONFIG_README_FILE, "utf8");

// The committed file, not a fresh build: it is what editors read. Strict, so a keyword ajv does
// not know (a typo in the definition) fails here instead of being ignored by every editor; the
// `oneOf: [{required: [upstream]}, …]` idiom for "exactly one target" is standard JSON Schema.
const validateSchema = new Ajv({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true })
  .compile(JSON.parse(committedSchema));

const context: RouteTableContext = {
  env: {
    LEGACY_API_URL: "http://127.0.0.1:8000", AUTH_SERVICE_URL: "http://127.0.0.1:3001", NOTES_URL: "http://127.0.0.1:7000",
    NOTES_HOST: "127.0.0.1", ISSUER: "https://gateway.example", BETTER_AUTH_SECRET: "b".repeat(40), NOTES_SECRET: "n".repeat(40),
  },
  defaultTimeoutMs: 10_000,
  defaultMaxConnections: 256,
  defaultMaxQueue: 1024,
  stripAuthorization: false,
};

/** What the schema and the gateway each say about one file. */
function verdicts(file: unknown): { schema: string[]; gateway: string[] } {
  // Both read the same JSON text, so a key left undefined is absent for both.
  const text = JSON.stringify(file);
  const raw: unknown = JSON.parse(text);
  const schema = validateSchema(raw) ? [] : (validateSchema.errors ?? []).map((e: ErrorObject) => `${e.instancePath || "/"} ${e.message}`);
  let gateway: string[] = [];
  try {
    parseRouteTable(text, "routes.json", context);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    gateway = [...error.problems];
  }
  return { schema, gateway };
}

/** A file that uses every field of every object of the format, and that both accept. */
const everyField: RouteFile = {
  upstreams: {
    notes: { url: "${NOTES_URL}", timeoutMs: 3000, maxConnections: 8, maxQueue: 0 },
    spec001: { url: "HTTP://${NOTES_HOST}:8000/base" },
  },
  routes: [
    {
      name: "notes.list", methods: ["GET", "POST", "GET"], path: "/notes/{owner}", upstream: "notes", auth: "jwt",
      owner: " sub == owner ", claims: { role: ["editor", "admin"], level: 3, active: true }, headers: { "X-User-Email": "email" },
      credentials: "strip", rateLimit: { perUser: 100, perAddress: 300, windowS: 60 },
    },
    {
      name: "tasks.list", methods: ["GET"], path: "/api/{user_id}/tasks", upstream: "spec001",
      credentials: {
        mint: { algorithm: "HS512", secretEnv: "NOTES_SECRET", claims: ["sub", "email"], issuer: "${ISSUER}", audience: "tasks", ttlSeconds: 3600 },
      },
    },
    { name: "root", methods: ["GET", "HEAD"], path: "/", auth: "none", redirect: "/app/", rateLimit: "off" },
    { name: "app", methods: ["GET"], path: "/app/*", auth: "none", serve: "web-client" },
  ],
};

type Fields = Record<string, unknown>;
/** A file with the `notes` upstream and these routes, each a GET /n to notes unless it says otherwise. */
function withRoutes(routes: Fields[], upstream: Fields = {}): Fields {
  return {
    upstreams: { notes: { url: "${NOTES_URL}", ...upstream } },
    routes: routes.map((route) => ({ name: "n", methods: ["GET"], path: "/n", upstream: "notes", ...route })),
  };
}
const withRoute = (route: Fields, upstream: Fields = {}) => withRoutes([route], upstream);
/** A file with one redirect route, for the upstream under test only. */
const withUpstream = (upstream: Fields) => ({ upstreams: { notes: upstream }, routes: [{ name: "r", methods: ["GET"], path: "/r", redirect: "/x" }] });
const withMint = (mint: Record<string, unknown>) => withRoute({ credentials: { mint: { secretEnv: "NOTES_SECRET", ...mint } } });

describe("one definition of the route-file format", () => {
  it("publishes the JSON Schema the definition generates", () => {
    expect(committedSchema, `config/route-table.schema.json is ${REGENERATE}`).toBe(renderRouteTableSchema());
  });

  it("documents in the README the field tables the definition generates", () => {
    expect(readme, `the field tables of config/README.md are ${REGENERATE}`).toBe(updateReadmeTables(readme));
  });

  it("validates the shipped default table with the schema its first line names", () => {
    const text = readFileSync(DEFAULT_ROUTE_TABLE_FILE, "utf8");
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./route-table.schema.json");
    expect(verdicts(parseYaml(text))).toEqual({ schema: [], gateway: [] });
  });

  const examples = [...readme.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
  it("has YAML examples in the README to check", () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });
  // The "# … the other routes" lines are YAML comments: each example is a complete file as shown.
  it.each(examples.map((example, index) => [index + 1, example]))("accepts README example %i in both the schema and the gateway", (_n, example) => {
    expect(verdicts(parseYaml(example as string))).toEqual({ schema: [], gateway: [] });
  });

  it("accepts a file that uses every field, and the validator knows exactly the definition's fields", () => {
    expect(verdicts(everyField)).toEqual({ schema: [], gateway: [] });
    const mint = everyField.routes.flatMap((route) => (typeof route.credentials === "object" ? [route.credentials.mint] : []));
    const used: Record<RouteFileObject, Set<string>> = {
      "top-level": new Set(Object.keys(everyField)),
      upstream: new Set(Object.values(everyField.upstreams!).flatMap(Object.keys)),
      route: new Set(everyField.routes.flatMap(Object.keys)),
      mint: new Set(mint.flatMap(Object.keys)),
      "rate-limit": new Set(everyField.routes.flatMap((route) => (typeof route.rateLimit === "object" ? Object.keys(route.rateLimit) : []))),
    };
    for (const object of Object.keys(used) as RouteFileObject[]) expect([...used[object]].sort(), object).toEqual(fieldNames(object).sort());
  });

  it.each([
    ["top-level", { ...everyField, extra: 1 }, "extra"],
    ["upstream", withRoute({}, { extra: 1 }), "upstreams.notes.extra"],
    ["route", withRoute({ extra: 1 }), "routes[0].extra"],
    ["mint", withMint({ extra: 1 }), "routes[0].credentials.mint.extra"],
  ] as const)("refuses an unknown %s field in both, naming the definition's fields", (object, file, where) => {
    const { schema, gateway } = verdicts(file);
    expect(schema).toContainEqual(expect.stringContaining("must NOT have additional properties"));
    expect(gateway).toEqual([`routes.json: ${where}: unknown field (expected ${fieldNames(object).join(", ")})`]);
  });
});

describe("a file refused for its shape is refused by both the schema and the gateway", () => {
  it.each([
    ["two targets", withRoute({ redirect: "/x" }), "routes[0].upstream: exactly one of upstream, serve or redirect is required"],
    ["no target", withRoute({ upstream: undefined }), "routes[0].upstream: exactly one of upstream, serve or redirect is required"],
    ["an unknown method", withRoute({ methods: ["GET", "FETCH"] }), 'routes[0].methods: "FETCH" is not one of'],
    ["a lower-case method", withRoute({ methods: ["get"] }), 'routes[0].methods: "get" is not one of'],
    ["no methods", withRoute({ methods: [] }), "routes[0].methods: must be a non-empty list"],
    ["a zero timeoutMs", withRoute({}, { timeoutMs: 0 }), "upstreams.notes.timeoutMs: must be a whole number of milliseconds (1-3600000)"],
    ["a fractional timeoutMs", withRoute({}, { timeoutMs: 1.5 }), "upstreams.notes.timeoutMs: must be a whole number"],
    ["a timeoutMs with a unit", withRoute({}, { timeoutMs: "10s" }), "upstreams.notes.timeoutMs: must be a whole number"],
    ["a timeoutMs past an hour", withRoute({}, { timeoutMs: 3_600_001 }), "upstreams.notes.timeoutMs: must be a whole number"],
    ["too many connections", withRoute({}, { maxConnections: 65_537 }), "upstreams.notes.maxConnections: must be a whole number of connections (1-65536)"],
    ["a negative queue", withRoute({}, { maxQueue: -1 }), "upstreams.notes.maxQueue: must be a whole number of requests (0-1000000)"],
    ["a claim header with _", withRoute({ headers: { X_User_Email: "email" } }), 'routes[0].headers.X_User_Email: must not contain "_"'],
    ["a claim header with a space", withRoute({ headers: { "X User": "email" } }), "routes[0].headers.X User: is not a valid header name"],
    ["a claim header without a claim", withRoute({ headers: { "X-User-Email": "" } }), "routes[0].headers.X-User-Email: must name a claim"],
    ["an empty claims map", withRoute({ claims: {} }), "routes[0].claims: must map claim names to a value or a list of values"],
    ["an empty list of claim values", withRoute({ claims: { role: [] } }), "routes[0].claims.role: must be a string, number or boolean"],
    ["an object as a claim value", withRoute({ claims: { role: { any: 1 } } }), "routes[0].claims.role: must be a string, number or boolean"],
    ["claims on a public route", withRoute({ auth: "none", claims: { role: "admin" } }), "routes[0].claims: needs auth: jwt"],
    ["a claim header on a public route", withRoute({ auth: "none", headers: { "X-Role": "role" } }), "routes[0].headers: needs auth: jwt"],
    ["an owner on a public route", withRoute({ path: "/n/{id}", auth: "none", owner: "sub == id" }), "routes[0].owner: needs auth: jwt"],
    ["minting on a public route", withRoute({ auth: "none", credentials: { mint: { secretEnv: "NOTES_SECRET" } } }), "routes[0].credentials: mint needs auth: jwt"],
    ["an unknown auth", withRoute({ auth: "optional" }), 'routes[0].auth: must be "jwt" or "none"'],
    ["an owner that is not a comparison", withRoute({ path: "/n/{id}", owner: "sub = id" }), 'routes[0].owner: must read "<claim> == <path parameter>"'],
    ["credentials on a redirect", { routes: [{ name: "r", methods: ["GET"], path: "/r", redirect: "/x", credentials: "strip" }] }, "routes[0].credentials: applies only to upstream routes"],
    ["unknown credentials", withRoute({ credentials: "copy" }), 'routes[0].credentials: must be "forward", "strip" or {mint: {...}}'],
    ["a mint beside another key", withRoute({ credentials: { mint: { secretEnv: "NOTES_SECRET" }, strip: true } }), 'routes[0].credentials: must be "forward", "strip" or {mint: {...}}'],
    ["an asymmetric mint algorithm", withMint({ algorithm: "RS256" }), "routes[0].credentials.mint.algorithm: must be HS256, HS384 or HS512"],
    ["a mint without a secretEnv", withMint({ secretEnv: "" }), "routes[0].credentials.mint.secretEnv: must name the environment variable"],
    ["minted claims without sub", withMint({ claims: ["email"] }), 'routes[0].credentials.mint.claims: must be a list of claim names that includes "sub"'],
    ["a minted claim the gateway sets", withMint({ claims: ["sub", "exp"] }), 'routes[0].credentials.mint.claims: "exp" is set by the gateway, not copied'],
    ["a minted token living past an hour", withMint({ ttlSeconds: 3601 }), "routes[0].credentials.mint.ttlSeconds: must be a whole number of seconds (1-3600)"],
    ["an empty issuer", withMint({ issuer: "" }), "routes[0].credentials.mint.issuer: must be a non-empty string"],
    ["serving something else", { routes: [{ name: "s", methods: ["GET"], path: "/s", serve: "files" }] }, 'routes[0].serve: must be "web-client"'],
    ["a redirect off the gateway", { routes: [{ name: "r", methods: ["GET"], path: "/r", redirect: "//evil.example/" }] }, "routes[0].redirect: must be a path on this gateway"],
    ["a redirect to a URL", { routes: [{ name: "r", methods: ["GET"], path: "/r", redirect: "https://evil.example/" }] }, "routes[0].redirect: must be a path on this gateway"],
    ["a relative path", withRoute({ path: "n" }), 'routes[0].path: "n" must start with "/"'],
    ["a star in the middle", withRoute({ path: "/n/*/x" }), 'routes[0].path: "/n/*/x": "*" may only end a pattern'],
    ["a parameter named twice", withRoute({ path: "/n/{id}/{id}" }), 'routes[0].path: "/n/{id}/{id}" names {id} twice'],
    ["a dot-dot segment", withRoute({ path: "/n/../x" }), 'routes[0].path: "/n/../x" is not a valid pattern'],
    ["a route name with a space", withRoute({ name: "notes list" }), "routes[0].name: is required: letters, digits"],
    ["a route without a name", withRoute({ name: undefined }), "routes[0].name: is required"],
    ["an upstream name with a space", { upstreams: { "my notes": { url: "http://127.0.0.1:1" } }, routes: [{ name: "r", methods: ["GET"], path: "/r", redirect: "/x" }] }, "upstreams.my notes: name must be letters"],
    ["an upstream without a url", withUpstream({ timeoutMs: 5 }), "upstreams.notes.url: is required"],
    ["an ftp upstream", withUpstream({ url: "ftp://127.0.0.1/" }), 'upstreams.notes.url: "ftp://127.0.0.1/" must be a plain http(s) URL'],
    ["no routes", { upstreams: {}, routes: [] }, "routes: must be a non-empty list"],
    ["upstreams as a list", { upstreams: [], routes: [{ name: "r", methods: ["GET"], path: "/r", redirect: "/x" }] }, "upstreams: must be a map"],
    ["a list for a file", [], 'must be an object with "upstreams" and "routes"'],
  ])("%s", (_what, file, expected) => {
    const { schema, gateway } = verdicts(file);
    expect(gateway).toEqual([expect.stringContaining(`routes.json: ${expected}`)]);
    expect(schema).not.toEqual([]);
  });
});

describe("a file right in shape but wrong in meaning passes the schema and is refused by the gateway", () => {
  // The README says so in one sentence: the schema checks shape; the gateway checks meaning.
  it.each([
    ["an undeclared upstream", withRoute({ upstream: "billing" }), 'routes[0].upstream: "billing" is not a declared upstream (notes)'],
    ["an unset ${NAME}", withUpstream({ url: "http://127.0.0.1:7000${NOPE}" }), "upstreams.notes.url: uses ${NOPE}, which is not set"],
    ["an owner parameter missing from the path", withRoute({ owner: "sub == user_id" }), "routes[0].owner: {user_id} is not a parameter of the path"],
    ["an unset mint secret", withMint({ secretEnv: "MISSING_SECRET" }), "routes[0].credentials.mint.secretEnv: MISSING_SECRET is not set"],
    ["a header the gateway owns", withRoute({ headers: { "X-User-Id": "email" } }), "routes[0].headers.X-User-Id: is set by the gateway itself"],
    ["the gateway's own endpoint", withRoute({ path: "/healthz" }), "routes[0].path: /healthz is the gateway's own /healthz endpoint"],
    ["a duplicate route name", withRoutes([{}, { path: "/m" }]), 'routes[1].name: "n" is used by another route'],
    ["two routes for the same requests", withRoutes([{ name: "a", path: "/n/{a}" }, { name: "b", path: "/n/{b}" }]), "routes[1].path: GET /n/{b} is ambiguous with routes[0] (a)"],
    ["a public route shadowing a protected one", withRoutes([{ name: "open", path: "/api/*", auth: "none" }, { name: "p", path: "/api/{u}" }]), "routes[0].path: public /api/* can match paths of routes[1] (p, auth: jwt)"],
  ])("%s", (_what, file, expected) => {
    const { schema, gateway } = verdicts(file);
    expect(schema).toEqual([]);
    expect(gateway).toEqual([expect.stringContaining(`routes.json: ${expected}`)]);
  });
});
