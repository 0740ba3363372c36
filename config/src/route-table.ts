import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "./errors.ts";
import { deepFreeze, type Env } from "./env.ts";
import { isGatewayOwned } from "./headers.ts";
import { originOf } from "./origins.ts";
import { MIN_HMAC_SECRET_BYTES } from "./secrets.ts";
import { compilePattern, loosePattern, patternsOverlap, sameShape } from "./path-pattern.ts";
import {
  ENV_REFERENCE, HEADER_NAME, JWT_ONLY_FIELDS, MINT_FORMAT, MINT_REQUIRED_CLAIM, MINT_RESERVED_CLAIMS, NAME, OWNER,
  RATE_LIMIT_FORMAT, REDIRECT_PATH, ROUTE_FORMAT, ROUTE_TARGET_FIELDS, UPSTREAM_FORMAT, fieldNames, rangeOf,
} from "./route-file-format.ts";
import {
  AUTH_MODES, HMAC_ALGORITHMS, HTTP_METHODS, OPS_ROUTES, type AuthMode, type ClaimValue, type HmacAlgorithm, type HttpMethod,
  type RouteRateLimit, type RouteSpec, type RouteTarget, type UpstreamCredentials,
} from "./routes.ts";

/** A named upstream the route table can send requests to. */
export interface UpstreamConfig {
  /** Origin (and optional base path) without a trailing slash. */
  readonly url: string;
  /** The deadline from forwarding a request to the last byte of its answer: past it, 504. */
  readonly timeoutMs: number;
  /** Keep-alive connections the gateway opens to it at most. */
  readonly maxConnections: number;
  /** Requests that may wait for one of those connections; past it, 503 with Retry-After. */
  readonly maxQueue: number;
  /** True when this is the auth-service (`AUTH_SERVICE_URL`): only it receives Better Auth's session cookies. */
  readonly authService: boolean;
}

/** A validated route table: the built-in ops routes, then the file's routes. */
export interface RouteTable {
  /** The file it came from. */
  readonly source: string;
  readonly upstreams: Readonly<Record<string, UpstreamConfig>>;
  readonly routes: readonly RouteSpec[];
}

export interface RouteTableContext {
  /** Values for `${NAME}` in the file and for `secretEnv`. */
  readonly env: Env;
  /** `timeoutMs` of an upstream that sets none (`UPSTREAM_TIMEOUT_MS`). */
  readonly defaultTimeoutMs: number;
  /** `maxConnections` of an upstream that sets none (`UPSTREAM_MAX_CONNECTIONS`). */
  readonly defaultMaxConnections: number;
  /** `maxQueue` of an upstream that sets none (`UPSTREAM_MAX_QUEUE`). */
  readonly defaultMaxQueue: number;
  /** `credentials` of a route that sets none (`STRIP_AUTHORIZATION`). */
  readonly stripAuthorization: boolean;
  /**
   * The secret the gateway itself accepts HS* tokens with (`BETTER_AUTH_SECRET` when
   * `JWT_ALGORITHMS` lists an HS* algorithm): a route may not mint with it, or the gateway would
   * accept the tokens it mints for upstreams.
   */
  readonly acceptedHmacSecret?: string | undefined;
}

export const DEFAULT_ROUTE_TABLE_FILE = fileURLToPath(new URL("../default-routes.yaml", import.meta.url));

/** Reads, interpolates and validates a JSON or YAML table; throws {@link ConfigError}, one line per problem. */
export function loadRouteTable(file: string, context: RouteTableContext): RouteTable {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError([`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`]);
  }
  return parseRouteTable(text, file, context);
}

export function parseRouteTable(text: string, file: string, context: RouteTableContext): RouteTable {
  let raw: unknown;
  try {
    raw = extname(file).toLowerCase() === ".json" ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true });
  } catch (error) {
    const reason = (error as Error).message.split("\n")[0];
    throw new ConfigError([`${file}: is not valid ${extname(file).toLowerCase() === ".json" ? "JSON" : "YAML"}: ${reason}`]);
  }
  const reader = new TableReader(file, context);
  const table = reader.read(raw);
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return deepFreeze(table);
}

// The fields, defaults, ranges, enumerations and patterns of the format are defined once, in
// route-file-format.ts. This reader applies them, adds the checks of meaning a JSON Schema cannot
// make (declared upstreams, secrets, owner parameters, ambiguity, shadowing) and words each problem.
const TOP_LEVEL_FIELDS = new Set(fieldNames("top-level"));
const ROUTE_FIELDS = new Set(fieldNames("route"));
const UPSTREAM_FIELDS = new Set(fieldNames("upstream"));
const MINT_FIELDS = new Set(fieldNames("mint"));
const RATE_LIMIT_FIELDS = new Set(fieldNames("rate-limit"));
const { timeoutMs: TIMEOUT_MS, maxConnections: MAX_CONNECTIONS, maxQueue: MAX_QUEUE } = UPSTREAM_FORMAT.fields;
const MINT = MINT_FORMAT.fields;

/** Walks the parsed file, collecting one problem line per bad field. */
class TableReader {
  readonly problems: string[] = [];

  constructor(private readonly file: string, private readonly context: RouteTableContext) {}

  private problem(where: string, message: string): undefined {
    this.problems.push(`${this.file}: ${where}: ${message}`);
    return undefined;
  }

  read(raw: unknown): RouteTable {
    if (!isObject(raw)) {
      this.problems.push(`${this.file}: must be an object with "upstreams" and "routes"`);
      return { source: this.file, upstreams: {}, routes: [] };
    }
    for (const key of Object.keys(raw)) {
      if (!TOP_LEVEL_FIELDS.has(key)) this.problem(key, `unknown field (expected ${[...TOP_LEVEL_FIELDS].join(", ")})`);
    }
    const upstreams = this.readUpstreams(raw.upstreams);
    if (!Array.isArray(raw.routes) || raw.routes.length === 0) {
      this.problem("routes", "must be a non-empty list");
      return { source: this.file, upstreams, routes: OPS_ROUTES };
    }
    const names = new Set<string>();
    const routes: { route: RouteSpec; index: number }[] = [];
    raw.routes.forEach((entry, index) => {
      const route = this.readRoute(entry, index, upstreams);
      if (!route) return;
      if (names.has(route.name)) this.problem(`routes[${index}].name`, `"${route.name}" is used by another route`);
      names.add(route.name);
      routes.push({ route, index });
    });
    this.checkAmbiguity(routes);
    this.checkShadowing(routes);
    return { source: this.file, upstreams, routes: [...OPS_ROUTES, ...routes.map(({ route }) => route)] };
  }

  private readUpstreams(raw: unknown): Record<string, UpstreamConfig> {
    const upstreams: Record<string, UpstreamConfig> = {};
    if (raw === undefined) return upstreams;
    if (!isObject(raw)) return this.problem("upstreams", "must be a map of name -> {url, timeoutMs}") ?? upstreams;
    for (const [name, value] of Object.entries(raw)) {
      const where = `upstreams.${name}`;
      if (!NAME.regexp.test(name)) this.problem(where, "name must be letters, digits, '.', '_' or '-'");
      if (!isObject(value)) {
        this.problem(where, "must be an object with url");
        continue;
      }
      this.unknownFields(value, UPSTREAM_FIELDS, where);
      const url = this.readUrl(value.url, `${where}.url`);
      const timeoutMs = this.wholeNumber(value.timeoutMs, this.context.defaultTimeoutMs, TIMEOUT_MS.schema, `${where}.timeoutMs`, "milliseconds");
      const maxConnections = this.wholeNumber(value.maxConnections, this.context.defaultMaxConnections, MAX_CONNECTIONS.schema, `${where}.maxConnections`, "connections");
      const maxQueue = this.wholeNumber(value.maxQueue, this.context.defaultMaxQueue, MAX_QUEUE.schema, `${where}.maxQueue`, "requests");
      if (url !== undefined) upstreams[name] = { url, timeoutMs, maxConnections, maxQueue, authService: sameOrigin(url, this.context.env.AUTH_SERVICE_URL) };
    }
    return upstreams;
  }

  private wholeNumber(raw: unknown, fallback: number, range: { minimum: number; maximum: number }, where: string, unit: string): number {
    const value = raw === undefined ? fallback : raw;
    if (!inRange(value, range)) {
      this.problem(where, `must be a whole number of ${unit} (${range.minimum}-${range.maximum})`);
      return fallback;
    }
    return value as number;
  }

  private readUrl(raw: unknown, where: string): string | undefined {
    const value = this.interpolate(raw, where);
    if (value === undefined) return this.problem(where, "is required (an http or https URL)");
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return this.problem(where, `${JSON.stringify(value)} is not an absolute URL`);
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.search || url.hash) {
      return this.problem(where, `${JSON.stringify(value)} must be a plain http(s) URL without credentials, query or fragment`);
    }
    return url.href.replace(/\/+$/, "");
  }

  /** `${NAME}` in a string takes the environment's value. */
  private interpolate(raw: unknown, where: string): string | undefined {
    if (typeof raw !== "string") return undefined;
    return raw.replace(ENV_REFERENCE, (_match, name: string) => {
      const value = this.context.env[name];
      if (value === undefined || value === "") {
        this.problem(where, `uses \${${name}}, which is not set`);
        return "";
      }
      return value;
    });
  }

  private readRoute(raw: unknown, index: number, upstreams: Record<string, UpstreamConfig>): RouteSpec | undefined {
    const at = (field: string) => `routes[${index}].${field}`;
    if (!isObject(raw)) return this.problem(`routes[${index}]`, "must be an object");
    this.unknownFields(raw, ROUTE_FIELDS, `routes[${index}]`);
    const before = this.problems.length;

    const name = typeof raw.name === "string" && NAME.regexp.test(raw.name) ? raw.name : this.problem(at("name"), "is required: letters, digits, '.', '_' or '-'");
    const methods = this.readMethods(raw.methods, at("methods"));
    const path = typeof raw.path === "string" ? raw.path : this.problem(at("path"), "is required");
    const compiled = path === undefined ? undefined : compilePattern(path);
    if (compiled && "problem" in compiled) this.problem(at("path"), compiled.problem);
    const pattern = compiled && "segments" in compiled ? compiled.segments : undefined;
    const params = compiled && "params" in compiled ? compiled.params : [];
    const target = this.readTarget(raw, at, upstreams);
    const auth = raw.auth === undefined ? ROUTE_FORMAT.fields.auth.schema.default
      : isOneOf(raw.auth, AUTH_MODES) ? raw.auth : this.problem(at("auth"), `must be ${alternatives(AUTH_MODES.map((mode) => JSON.stringify(mode)))}`);

    const needsJwt = (field: string) => {
      if (raw[field] !== undefined && auth !== "jwt") this.problem(at(field), 'needs auth: jwt');
    };
    JWT_ONLY_FIELDS.forEach(needsJwt);
    const owner = raw.owner === undefined ? undefined : this.readOwner(raw.owner, at("owner"), params);
    const requiredClaims = raw.claims === undefined ? undefined : this.readClaims(raw.claims, at("claims"));
    const claimHeaders = raw.headers === undefined ? undefined : this.readHeaders(raw.headers, at("headers"));
    const credentials = this.readCredentials(raw.credentials, at("credentials"), auth);
    const rateLimit = raw.rateLimit === undefined ? undefined : this.readRateLimit(raw.rateLimit, at("rateLimit"), auth);
    if (target && target.kind !== "upstream" && raw.credentials !== undefined) this.problem(at("credentials"), "applies only to upstream routes");

    if (this.problems.length > before || !name || !methods || !path || !pattern || !target || !auth || !credentials) return undefined;
    return {
      name, methods, path, pattern, target, auth, credentials, ...(rateLimit !== undefined && { rateLimit }),
      ...(owner && { owner }), ...(requiredClaims && { requiredClaims }), ...(claimHeaders && { claimHeaders }),
    };
  }

  private readMethods(raw: unknown, where: string): HttpMethod[] | undefined {
    if (!Array.isArray(raw) || raw.length === 0) return this.problem(where, `must be a non-empty list of ${HTTP_METHODS.join(", ")}`);
    const methods = new Set<HttpMethod>();
    for (const method of raw) {
      if (typeof method === "string" && (HTTP_METHODS as readonly string[]).includes(method)) methods.add(method as HttpMethod);
      else this.problem(where, `${JSON.stringify(method)} is not one of ${HTTP_METHODS.join(", ")}`);
    }
    return [...methods];
  }

  private readTarget(raw: Record<string, unknown>, at: (field: string) => string, upstreams: Record<string, UpstreamConfig>): RouteTarget | undefined {
    const given = ROUTE_TARGET_FIELDS.filter((field) => raw[field] !== undefined);
    if (given.length !== 1) return this.problem(at("upstream"), `exactly one of ${alternatives(ROUTE_TARGET_FIELDS)} is required`);
    if (raw.upstream !== undefined) {
      if (typeof raw.upstream !== "string" || !(raw.upstream in upstreams)) {
        return this.problem(at("upstream"), `${JSON.stringify(raw.upstream)} is not a declared upstream (${Object.keys(upstreams).join(", ") || "none declared"})`);
      }
      return { kind: "upstream", upstream: raw.upstream };
    }
    if (raw.serve !== undefined) {
      const served = ROUTE_FORMAT.fields.serve.schema.const;
      if (raw.serve !== served) return this.problem(at("serve"), `must be ${JSON.stringify(served)}`);
      return { kind: "static" };
    }
    if (typeof raw.redirect !== "string" || !REDIRECT_PATH.regexp.test(raw.redirect)) {
      return this.problem(at("redirect"), "must be a path on this gateway, such as /app/");
    }
    return { kind: "redirect", location: raw.redirect };
  }

  private readOwner(raw: unknown, where: string, params: readonly string[]) {
    const match = typeof raw === "string" ? OWNER.regexp.exec(raw) : null;
    if (!match) return this.problem(where, 'must read "<claim> == <path parameter>", e.g. "sub == user_id"');
    if (!params.includes(match[2]!)) return this.problem(where, `{${match[2]}} is not a parameter of the path`);
    return { claim: match[1]!, param: match[2]! };
  }

  private readClaims(raw: unknown, where: string): Record<string, ClaimValue[]> | undefined {
    if (!isObject(raw) || Object.keys(raw).length === 0) return this.problem(where, "must map claim names to a value or a list of values");
    const claims: Record<string, ClaimValue[]> = {};
    for (const [claim, value] of Object.entries(raw)) {
      const values = Array.isArray(value) ? value : [value];
      if (values.length === 0 || !values.every((v) => ["string", "number", "boolean"].includes(typeof v))) {
        this.problem(`${where}.${claim}`, "must be a string, number or boolean, or a non-empty list of them");
        continue;
      }
      claims[claim] = values as ClaimValue[];
    }
    return claims;
  }

  private readHeaders(raw: unknown, where: string): Record<string, string> | undefined {
    if (!isObject(raw) || Object.keys(raw).length === 0) return this.problem(where, "must map header names to claim names");
    const headers: Record<string, string> = {};
    for (const [header, claim] of Object.entries(raw)) {
      const name = header.toLowerCase();
      if (header.includes("_")) this.problem(`${where}.${header}`, 'must not contain "_" (servers read it as "-"; use dashes)');
      else if (!HEADER_NAME.regexp.test(header)) this.problem(`${where}.${header}`, "is not a valid header name");
      else if (isGatewayOwned(name)) this.problem(`${where}.${header}`, "is set by the gateway itself and cannot carry a claim");
      else if (typeof claim !== "string" || claim === "") this.problem(`${where}.${header}`, "must name a claim");
      else headers[name] = claim;
    }
    return headers;
  }

  private readRateLimit(raw: unknown, where: string, auth: AuthMode | undefined): RouteRateLimit | "off" | undefined {
    if (raw === "off") return "off";
    if (!isObject(raw)) return this.problem(where, 'must be "off" or { perUser, perAddress, windowS }');
    this.unknownFields(raw, RATE_LIMIT_FIELDS, where);
    const limit: { perUser?: number; perAddress?: number; windowS?: number } = {};
    const requests = rangeOf(RATE_LIMIT_FORMAT.fields.perUser.schema);
    for (const field of ["perUser", "perAddress"] as const) {
      if (raw[field] === undefined) continue;
      if (!inRange(raw[field], { minimum: requests.min, maximum: requests.max })) this.problem(`${where}.${field}`, `must be a whole number of requests (${requests.min}-${requests.max})`);
      else limit[field] = raw[field];
    }
    if (raw.perUser !== undefined && auth !== "jwt") this.problem(`${where}.perUser`, "needs auth: jwt (it counts by sub)");
    if (raw.windowS !== undefined) {
      const window = rangeOf(RATE_LIMIT_FORMAT.fields.windowS.schema);
      if (!inRange(raw.windowS, { minimum: window.min, maximum: window.max })) this.problem(`${where}.windowS`, `must be a whole number of seconds (${window.min}-${window.max})`);
      else limit.windowS = raw.windowS;
    }
    return limit;
  }

  private readCredentials(raw: unknown, where: string, auth: AuthMode | undefined): UpstreamCredentials | undefined {
    if (raw === undefined) return { kind: this.context.stripAuthorization ? "strip" : "forward" };
    if (raw === "forward" || raw === "strip") return { kind: raw };
    if (!isObject(raw) || !isObject(raw.mint) || Object.keys(raw).length !== 1) {
      return this.problem(where, 'must be "forward", "strip" or {mint: {...}}');
    }
    if (auth !== "jwt") return this.problem(where, "mint needs auth: jwt (it copies claims from the verified token)");
    const mint = raw.mint;
    const at = `${where}.mint`;
    this.unknownFields(mint, MINT_FIELDS, at);
    const algorithm = mint.algorithm === undefined ? MINT.algorithm.schema.default : mint.algorithm;
    if (!isOneOf(algorithm, HMAC_ALGORITHMS)) this.problem(`${at}.algorithm`, `must be ${alternatives(HMAC_ALGORITHMS)}`);
    let secret: string | undefined;
    if (typeof mint.secretEnv !== "string" || mint.secretEnv === "") {
      this.problem(`${at}.secretEnv`, "must name the environment variable holding the upstream's secret");
    } else {
      secret = this.context.env[mint.secretEnv];
      if (secret === undefined || secret === "") this.problem(`${at}.secretEnv`, `${mint.secretEnv} is not set`);
      else if (Buffer.byteLength(secret) < MIN_HMAC_SECRET_BYTES) this.problem(`${at}.secretEnv`, `${mint.secretEnv} must be at least ${MIN_HMAC_SECRET_BYTES} bytes`);
      else if (secret === this.context.acceptedHmacSecret) {
        this.problem(`${at}.secretEnv`, `${mint.secretEnv} is the secret the gateway accepts HS* tokens with (JWT_ALGORITHMS): it would accept the tokens it mints; give the upstream its own secret`);
      }
    }
    const claims = mint.claims === undefined ? [...MINT.claims.schema.default] : mint.claims;
    if (!Array.isArray(claims) || !claims.every((c) => typeof c === "string" && c !== "") || !claims.includes(MINT_REQUIRED_CLAIM)) {
      this.problem(`${at}.claims`, `must be a list of claim names that includes "${MINT_REQUIRED_CLAIM}"`);
    }
    for (const reserved of MINT_RESERVED_CLAIMS) {
      if (Array.isArray(claims) && claims.includes(reserved)) this.problem(`${at}.claims`, `"${reserved}" is set by the gateway, not copied`);
    }
    const ttlSeconds = mint.ttlSeconds === undefined ? MINT.ttlSeconds.schema.default : mint.ttlSeconds;
    if (!inRange(ttlSeconds, MINT.ttlSeconds.schema)) {
      this.problem(`${at}.ttlSeconds`, `must be a whole number of seconds (${MINT.ttlSeconds.schema.minimum}-${MINT.ttlSeconds.schema.maximum})`);
    }
    const issuer = this.optionalString(mint.issuer, `${at}.issuer`);
    const audience = this.optionalString(mint.audience, `${at}.audience`);
    if (secret === undefined) return undefined;
    return {
      kind: "mint", algorithm: algorithm as HmacAlgorithm, secret, claims: claims as string[],
      issuer, audience, ttlSeconds: ttlSeconds as number,
    };
  }

  private optionalString(raw: unknown, where: string): string | undefined {
    if (raw === undefined) return undefined;
    if (typeof raw !== "string" || raw === "") return this.problem(where, "must be a non-empty string");
    return this.interpolate(raw, where);
  }

  private unknownFields(raw: Record<string, unknown>, known: ReadonlySet<string>, where: string): void {
    for (const key of Object.keys(raw)) {
      if (!known.has(key)) this.problem(`${where}.${key}`, `unknown field (expected ${[...known].join(", ")})`);
    }
  }

  /**
   * Routes are tried most specific first (a literal segment beats a parameter beats "*"), so
   * overlap is resolved by rule; two routes no rule separates, for a shared method, are refused.
   */
  private checkAmbiguity(routes: readonly { route: RouteSpec; index: number }[]): void {
    routes.forEach(({ route, index }, position) => {
      const reserved = OPS_ROUTES.find((ops) => sameShape(ops.pattern, route.pattern));
      if (reserved) this.problem(`routes[${index}].path`, `${route.path} is the gateway's own /${reserved.name} endpoint`);
      const other = routes.slice(0, position).find((earlier) =>
        sameShape(earlier.route.pattern, route.pattern) && earlier.route.methods.some((method) => route.methods.includes(method)));
      if (other) {
        const method = other.route.methods.find((m) => route.methods.includes(m));
        this.problem(`routes[${index}].path`, `${method} ${route.path} is ambiguous with routes[${other.index}] (${other.route.name}): both match the same requests`);
      }
    });
  }

  /**
   * A public route on an upstream that also serves protected routes must not be able to match
   * any of their paths, whatever specificity says: the upstream may normalize a path (decode an
   * escape, drop a trailing slash, ignore case) that the gateway routed as public into one it
   * would have protected.
   */
  private checkShadowing(routes: readonly { route: RouteSpec; index: number }[]): void {
    const upstreamOf = (route: RouteSpec) => (route.target.kind === "upstream" ? route.target.upstream : undefined);
    // An upstream answers HEAD with its GET handler (minus the body): for this check they are one method.
    const methodsOf = (route: RouteSpec) => new Set(route.methods.map((method) => (method === "HEAD" ? "GET" : method)));
    for (const open of routes) {
      const upstream = upstreamOf(open.route);
      if (open.route.auth !== "none" || upstream === undefined) continue;
      const openMethods = methodsOf(open.route);
      const openPattern = loosePattern(open.route.pattern);
      const shadowed = routes.find(({ route }) =>
        route.auth === "jwt" && upstreamOf(route) === upstream && [...methodsOf(route)].some((m) => openMethods.has(m)) &&
        patternsOverlap(openPattern, loosePattern(route.pattern)));
      if (shadowed) {
        this.problem(
          `routes[${open.index}].path`,
          `public ${open.route.path} can match paths of routes[${shadowed.index}] (${shadowed.route.name}, auth: jwt) on the same upstream ${upstream}; narrow it or protect it`,
        );
      }
    }
  }
}

function sameOrigin(url: string, other: string | undefined): boolean {
  const origin = other === undefined ? undefined : originOf(other);
  return origin !== undefined && originOf(url) === origin;
}

function inRange(value: unknown, range: { minimum: number; maximum: number }): value is number {
  return Number.isInteger(value) && (value as number) >= range.minimum && (value as number) <= range.maximum;
}

function isOneOf<T extends string>(value: unknown, allowed: readonly T[]): value is T {
  return (allowed as readonly unknown[]).includes(value);
}

/** `a, b or c`, as the problem lines list choices. */
function alternatives(choices: readonly string[]): string {
  return choices.length < 2 ? choices.join("") : `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
