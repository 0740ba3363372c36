import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "./errors.ts";
import { deepFreeze, type Env } from "./env.ts";
import {
  HTTP_METHODS, OPS_ROUTES, type ClaimValue, type HmacAlgorithm, type HttpMethod, type RouteSpec,
  type RouteTarget, type UpstreamCredentials,
} from "./routes.ts";

/** A named upstream the route table can send requests to. */
export interface UpstreamConfig {
  /** Origin (and optional base path) without a trailing slash. */
  readonly url: string;
  /** No answer within this many milliseconds: 504. */
  readonly timeoutMs: number;
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
  /** `credentials` of a route that sets none (`STRIP_AUTHORIZATION`). */
  readonly stripAuthorization: boolean;
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

const ROUTE_FIELDS = new Set(["name", "methods", "path", "upstream", "serve", "redirect", "auth", "owner", "claims", "headers", "credentials"]);
const UPSTREAM_FIELDS = new Set(["url", "timeoutMs"]);
const MINT_FIELDS = new Set(["algorithm", "secretEnv", "claims", "issuer", "audience", "ttlSeconds"]);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PARAM = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const LITERAL = /^[A-Za-z0-9\-._~!$&'()+,=:@]+$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** Headers the gateway owns or that frame the message: a claim mapping may not set them. */
const RESERVED_HEADERS = new Set([
  "host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer",
  "authorization", "cookie", "x-user-id", "x-request-id", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
]);
const MIN_SECRET_BYTES = 32;

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
      if (key !== "upstreams" && key !== "routes") this.problem(key, "unknown field (expected upstreams, routes)");
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
    return { source: this.file, upstreams, routes: [...OPS_ROUTES, ...routes.map(({ route }) => route)] };
  }

  private readUpstreams(raw: unknown): Record<string, UpstreamConfig> {
    const upstreams: Record<string, UpstreamConfig> = {};
    if (raw === undefined) return upstreams;
    if (!isObject(raw)) return this.problem("upstreams", "must be a map of name -> {url, timeoutMs}") ?? upstreams;
    for (const [name, value] of Object.entries(raw)) {
      const where = `upstreams.${name}`;
      if (!NAME.test(name)) this.problem(where, "name must be letters, digits, '.', '_' or '-'");
      if (!isObject(value)) {
        this.problem(where, "must be an object with url");
        continue;
      }
      this.unknownFields(value, UPSTREAM_FIELDS, where);
      const url = this.readUrl(value.url, `${where}.url`);
      const timeoutMs = value.timeoutMs === undefined ? this.context.defaultTimeoutMs : value.timeoutMs;
      if (!Number.isInteger(timeoutMs) || (timeoutMs as number) < 1 || (timeoutMs as number) > 3_600_000) {
        this.problem(`${where}.timeoutMs`, "must be a whole number of milliseconds (1-3600000)");
      }
      if (url !== undefined) upstreams[name] = { url, timeoutMs: timeoutMs as number };
    }
    return upstreams;
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
    return raw.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
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

    const name = typeof raw.name === "string" && NAME.test(raw.name) ? raw.name : this.problem(at("name"), "is required: letters, digits, '.', '_' or '-'");
    const methods = this.readMethods(raw.methods, at("methods"));
    const path = typeof raw.path === "string" ? raw.path : this.problem(at("path"), "is required");
    const params = path === undefined ? [] : this.readPattern(path, at("path"));
    const target = this.readTarget(raw, at, upstreams);
    const auth = raw.auth === undefined ? "jwt" : raw.auth === "jwt" || raw.auth === "none" ? raw.auth : this.problem(at("auth"), 'must be "jwt" or "none"');

    const needsJwt = (field: string) => {
      if (raw[field] !== undefined && auth !== "jwt") this.problem(at(field), 'needs auth: jwt');
    };
    ["owner", "claims", "headers"].forEach(needsJwt);
    const owner = raw.owner === undefined ? undefined : this.readOwner(raw.owner, at("owner"), params ?? []);
    const requiredClaims = raw.claims === undefined ? undefined : this.readClaims(raw.claims, at("claims"));
    const claimHeaders = raw.headers === undefined ? undefined : this.readHeaders(raw.headers, at("headers"));
    const credentials = this.readCredentials(raw.credentials, at("credentials"), auth);
    if (target && target.kind !== "upstream" && raw.credentials !== undefined) this.problem(at("credentials"), "applies only to upstream routes");

    if (this.problems.length > before || !name || !methods || !path || !target || !auth || !credentials) return undefined;
    return {
      name, methods, path, target, auth, credentials,
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

  /** Checks a path pattern; returns its parameter names. */
  private readPattern(path: string, where: string): string[] | undefined {
    if (!path.startsWith("/")) return this.problem(where, `${JSON.stringify(path)} must start with "/"`);
    const parts = path.slice(1).split("/");
    const params: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const last = i === parts.length - 1;
      const param = PARAM.exec(part);
      if (param) {
        if (params.includes(param[1]!)) return this.problem(where, `${JSON.stringify(path)} names {${param[1]}} twice`);
        params.push(param[1]!);
      } else if (part === "*") {
        if (!last) return this.problem(where, `${JSON.stringify(path)}: "*" may only end a pattern`);
      } else if (part === "") {
        if (!last) return this.problem(where, `${JSON.stringify(path)} has an empty segment`);
      } else if (!LITERAL.test(part) || part === "." || part === "..") {
        return this.problem(where, `${JSON.stringify(path)} is not a valid pattern (segment ${JSON.stringify(part)})`);
      }
    }
    return params;
  }

  private readTarget(raw: Record<string, unknown>, at: (field: string) => string, upstreams: Record<string, UpstreamConfig>): RouteTarget | undefined {
    const given = ["upstream", "serve", "redirect"].filter((field) => raw[field] !== undefined);
    if (given.length !== 1) return this.problem(at("upstream"), "exactly one of upstream, serve or redirect is required");
    if (raw.upstream !== undefined) {
      if (typeof raw.upstream !== "string" || !(raw.upstream in upstreams)) {
        return this.problem(at("upstream"), `${JSON.stringify(raw.upstream)} is not a declared upstream (${Object.keys(upstreams).join(", ") || "none declared"})`);
      }
      return { kind: "upstream", upstream: raw.upstream };
    }
    if (raw.serve !== undefined) {
      if (raw.serve !== "web-client") return this.problem(at("serve"), 'must be "web-client"');
      return { kind: "static" };
    }
    if (typeof raw.redirect !== "string" || !raw.redirect.startsWith("/") || raw.redirect.startsWith("//")) {
      return this.problem(at("redirect"), "must be a path on this gateway, such as /app/");
    }
    return { kind: "redirect", location: raw.redirect };
  }

  private readOwner(raw: unknown, where: string, params: readonly string[]) {
    const match = typeof raw === "string" ? /^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*==\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(raw) : null;
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
      if (!HEADER_NAME.test(header)) this.problem(`${where}.${header}`, "is not a valid header name");
      else if (RESERVED_HEADERS.has(name)) this.problem(`${where}.${header}`, "is set by the gateway itself and cannot carry a claim");
      else if (typeof claim !== "string" || claim === "") this.problem(`${where}.${header}`, "must name a claim");
      else headers[name] = claim;
    }
    return headers;
  }

  private readCredentials(raw: unknown, where: string, auth: string | undefined): UpstreamCredentials | undefined {
    if (raw === undefined) return { kind: this.context.stripAuthorization ? "strip" : "forward" };
    if (raw === "forward" || raw === "strip") return { kind: raw };
    if (!isObject(raw) || !isObject(raw.mint) || Object.keys(raw).length !== 1) {
      return this.problem(where, 'must be "forward", "strip" or {mint: {...}}');
    }
    if (auth !== "jwt") return this.problem(where, "mint needs auth: jwt (it copies claims from the verified token)");
    const mint = raw.mint;
    const at = `${where}.mint`;
    this.unknownFields(mint, MINT_FIELDS, at);
    const algorithm = mint.algorithm === undefined ? "HS256" : mint.algorithm;
    if (algorithm !== "HS256" && algorithm !== "HS384" && algorithm !== "HS512") this.problem(`${at}.algorithm`, "must be HS256, HS384 or HS512");
    let secret: string | undefined;
    if (typeof mint.secretEnv !== "string" || mint.secretEnv === "") {
      this.problem(`${at}.secretEnv`, "must name the environment variable holding the upstream's secret");
    } else {
      secret = this.context.env[mint.secretEnv];
      if (secret === undefined || secret === "") this.problem(`${at}.secretEnv`, `${mint.secretEnv} is not set`);
      else if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) this.problem(`${at}.secretEnv`, `${mint.secretEnv} must be at least ${MIN_SECRET_BYTES} bytes`);
    }
    const claims = mint.claims === undefined ? ["sub"] : mint.claims;
    if (!Array.isArray(claims) || !claims.every((c) => typeof c === "string" && c !== "") || !claims.includes("sub")) {
      this.problem(`${at}.claims`, 'must be a list of claim names that includes "sub"');
    }
    for (const reserved of ["iat", "exp", "iss", "aud", "nbf", "jti"]) {
      if (Array.isArray(claims) && claims.includes(reserved)) this.problem(`${at}.claims`, `"${reserved}" is set by the gateway, not copied`);
    }
    const ttlSeconds = mint.ttlSeconds === undefined ? 60 : mint.ttlSeconds;
    if (!Number.isInteger(ttlSeconds) || (ttlSeconds as number) < 1 || (ttlSeconds as number) > 3600) this.problem(`${at}.ttlSeconds`, "must be a whole number of seconds (1-3600)");
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
    const shape = (path: string) => path.slice(1).split("/").map((part) => (PARAM.test(part) ? "{}" : part)).join("/");
    const reserved = new Map(OPS_ROUTES.map((route) => [shape(route.path), route.name]));
    const seen = new Map<string, { route: RouteSpec; index: number }>();
    routes.forEach(({ route, index }) => {
      const key = shape(route.path);
      if (reserved.has(key)) this.problem(`routes[${index}].path`, `${route.path} is the gateway's own /${reserved.get(key)} endpoint`);
      for (const method of route.methods) {
        const other = seen.get(`${method} ${key}`);
        if (other) {
          this.problem(`routes[${index}].path`, `${method} ${route.path} is ambiguous with routes[${other.index}] (${other.route.name}): both match the same requests`);
          break;
        }
      }
      for (const method of route.methods) seen.set(`${method} ${key}`, { route, index });
    });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
