/**
 * The route-file format, defined once. For every object a route file holds (the top level, an
 * upstream, a route, a route's `credentials: { mint: … }`) this module lists its fields in
 * order, and for each field the JSON Schema of its value, whether it is required or its default
 * in words, and its meaning. From it come:
 *
 * - the validator's known fields, defaults, ranges and enumerations (route-table.ts);
 * - the published JSON Schema, config/route-table.schema.json (route-file-schema.ts);
 * - the field tables of config/README.md (route-file-docs.ts);
 * - the TypeScript shapes of a raw file below, whose keys and optionality are checked against
 *   the field lists at compile time ({@link ObjectFormat}).
 *
 * `npm run schema -w config` rewrites the schema and the README tables; a test fails when either
 * is out of date. Meanings are Markdown, one paragraph, without `|`.
 */
import { deepFreeze } from "./env.ts";
import { PATH_PATTERN_SOURCE } from "./path-pattern.ts";
import { MIN_HMAC_SECRET_BYTES } from "./secrets.ts";
import { AUTH_MODES, HMAC_ALGORITHMS, HTTP_METHODS, type AuthMode, type ClaimValue, type HmacAlgorithm, type HttpMethod } from "./routes.ts";

/** A route file as written: JSON, or YAML parsed to the same values. */
export interface RouteFile {
  upstreams?: Record<string, RouteFileUpstream>;
  routes: RouteFileRoute[];
}

export interface RouteFileUpstream {
  url: string;
  timeoutMs?: number;
  maxConnections?: number;
  maxQueue?: number;
}

export interface RouteFileRoute {
  name: string;
  methods: HttpMethod[];
  path: string;
  upstream?: string;
  serve?: "web-client";
  redirect?: string;
  auth?: AuthMode;
  owner?: string;
  claims?: Record<string, ClaimValue | ClaimValue[]>;
  headers?: Record<string, string>;
  credentials?: "forward" | "strip" | { mint: RouteFileMint };
  rateLimit?: "off" | RouteFileRateLimit;
}

export interface RouteFileRateLimit {
  perUser?: number;
  perAddress?: number;
  windowS?: number;
}

export interface RouteFileMint {
  algorithm?: HmacAlgorithm;
  secretEnv: string;
  claims?: string[];
  issuer?: string;
  audience?: string;
  ttlSeconds?: number;
}

/** The subset of JSON Schema (draft-07) the format uses. */
export interface JsonSchema {
  readonly $schema?: string;
  readonly $id?: string;
  readonly $ref?: string;
  readonly $comment?: string;
  readonly title?: string;
  readonly description?: string;
  readonly type?: JsonType | readonly JsonType[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly default?: unknown;
  readonly pattern?: string;
  readonly minLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly contains?: JsonSchema;
  readonly properties?: Readonly<Record<string, JsonSchema | boolean>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: JsonSchema | boolean;
  readonly propertyNames?: JsonSchema;
  readonly minProperties?: number;
  readonly oneOf?: readonly JsonSchema[];
  readonly anyOf?: readonly JsonSchema[];
  readonly allOf?: readonly JsonSchema[];
  readonly not?: JsonSchema;
  readonly if?: JsonSchema;
  readonly then?: JsonSchema;
  readonly definitions?: Readonly<Record<string, JsonSchema>>;
}
type JsonType = "object" | "array" | "string" | "integer" | "number" | "boolean" | "null";

interface FieldFormatBase {
  /** The JSON Schema of the value; the field's description is added from `meaning`. */
  readonly schema: JsonSchema;
  /** What the field does, Markdown: the README's "meaning" column and the schema's description. */
  readonly meaning: string;
}
export interface RequiredFieldFormat extends FieldFormatBase {
  readonly required: true;
}
export interface OptionalFieldFormat extends FieldFormatBase {
  readonly required?: false;
  /** The default in words (Markdown); without it, the README shows `schema.default`. */
  readonly default?: string;
}
export type FieldFormat = RequiredFieldFormat | OptionalFieldFormat;

type IsOptional<T, K extends keyof T> = Partial<Pick<T, K>> extends Pick<T, K> ? true : false;

/**
 * One object of the file format. `fields` must list exactly the keys of `T`, required exactly
 * where `T` requires them: a missing, extra or differently required field is a type error.
 */
export interface ObjectFormat<T> {
  /** The schema's title for this object. */
  readonly title: string;
  readonly description: string;
  readonly fields: { readonly [K in keyof T]-?: IsOptional<T, K> extends true ? OptionalFieldFormat : RequiredFieldFormat };
}

/** Any one object of the format, its fields seen by name only (for the schema and README builders). */
export interface AnyObjectFormat {
  readonly title: string;
  readonly description: string;
  readonly fields: Readonly<Record<string, FieldFormat>>;
}

/** A regular expression written once: the schema's `pattern` and the validator's test. */
export interface SharedPattern {
  /** ECMA-262 source, as JSON Schema `pattern` reads it (with the `u` flag, as ajv does). */
  readonly source: string;
  readonly regexp: RegExp;
}
function sharedPattern(source: string): SharedPattern {
  return Object.freeze({ source, regexp: new RegExp(source, "u") });
}

/** A route or upstream name. */
export const NAME = sharedPattern("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");
/**
 * A claim-header name: RFC 9110 token characters without "_". CGI-style servers read X_User_Email
 * as X-User-Email, so a claim header with "_" could be forged by a client under its dashed name
 * and vice versa.
 */
export const HEADER_NAME = sharedPattern("^[A-Za-z0-9!#$%&'*+.^`|~-]+$");
/** `owner: "<claim> == <path parameter>"`. */
export const OWNER = sharedPattern("^\\s*([A-Za-z_][A-Za-z0-9_.-]*)\\s*==\\s*([A-Za-z_][A-Za-z0-9_]*)\\s*$");
/** A path on this gateway: `//host` would be a protocol-relative redirect to another site. */
export const REDIRECT_PATH = sharedPattern("^/(?!/)");
/** `${NAME}` in a string takes the environment's value. Global: for `String.replace` only. */
export const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/**
 * Before interpolation a URL is either spelled out (http or https, any case) or holds a
 * `${NAME}`; what it becomes is checked by the gateway.
 */
const UPSTREAM_URL = sharedPattern(`^(?:[Hh][Tt][Tt][Pp][Ss]?://|.*${ENV_REFERENCE.source})`);

/** Exactly one of these says where a route's requests go. */
export const ROUTE_TARGET_FIELDS = ["upstream", "serve", "redirect"] as const satisfies readonly (keyof RouteFileRoute)[];
/** Fields that only mean something with a verified token (`auth: jwt`). */
export const JWT_ONLY_FIELDS = ["owner", "claims", "headers"] as const satisfies readonly (keyof RouteFileRoute)[];
/** Claims the gateway sets on a minted token itself: a route cannot copy them. */
export const MINT_RESERVED_CLAIMS = ["iat", "exp", "iss", "aud", "nbf", "jti"] as const;
/** The claim every minted token carries: who the caller is. */
export const MINT_REQUIRED_CLAIM = "sub";

const code = (value: string) => `\`${value}\``;
const whole = (minimum: number, maximum: number) => ({ type: "integer", minimum, maximum }) as const;
/** One of `values`, `fallback` when left out (typed, so the validator's default is the schema's). */
const choice = <T extends string>(values: readonly T[], fallback: NoInfer<T>) => ({ enum: values, default: fallback });
const ref = (definition: "upstream" | "route" | "mint" | "rate-limit") => ({ $ref: `#/definitions/${definition}` });
const claimValue = { type: ["string", "number", "boolean"] } as const satisfies JsonSchema;

const TIMEOUT_MS = whole(1, 3_600_000);
const MAX_CONNECTIONS = whole(1, 65_536);
const MAX_QUEUE = whole(0, 1_000_000);
const TTL_SECONDS = whole(1, 3600);
/** Requests per window, and the window: the same ranges as RATE_LIMIT_PER_USER / _PER_ADDRESS / _WINDOW_S. */
export const RATE_LIMIT_REQUESTS = whole(1, 1_000_000_000);
export const RATE_LIMIT_WINDOW_S = whole(1, 86_400);
const ONE_TARGET = `none; exactly one of ${ROUTE_TARGET_FIELDS.map(code).join(", ")} is required`;

export const TOP_LEVEL_FORMAT = {
  title: "Route table",
  description: "The gateway's route table (GATEWAY_CONFIG): the upstreams and the routes to them. See config/README.md.",
  fields: {
    upstreams: {
      default: "none",
      meaning: "a map of name → upstream; routes refer to upstreams by name (letters, digits, `.`, `_` or `-`)",
      schema: { type: "object", propertyNames: { pattern: NAME.source }, additionalProperties: ref("upstream") },
    },
    routes: {
      required: true,
      meaning: "the list of routes (at least one)",
      schema: { type: "array", minItems: 1, items: ref("route") },
    },
  },
} satisfies ObjectFormat<RouteFile>;

export const UPSTREAM_FORMAT = {
  title: "Upstream",
  description: "A service the gateway forwards requests to, with its own keep-alive pool.",
  fields: {
    url: {
      required: true,
      meaning: "`http(s)://host[:port][/base]`; the request target is appended to it byte for byte. `${NAME}` takes an environment variable's value (`LEGACY_API_URL` and `AUTH_SERVICE_URL` default to the gateway's defaults)",
      schema: { type: "string", pattern: UPSTREAM_URL.source },
    },
    timeoutMs: {
      default: code("UPSTREAM_TIMEOUT_MS"),
      meaning: `the deadline from forwarding a request to the last byte of its answer (${TIMEOUT_MS.minimum}–${TIMEOUT_MS.maximum}): past it, 504`,
      schema: TIMEOUT_MS,
    },
    maxConnections: {
      default: code("UPSTREAM_MAX_CONNECTIONS"),
      meaning: `keep-alive connections the gateway opens to it at most (${MAX_CONNECTIONS.minimum}–${MAX_CONNECTIONS.maximum})`,
      schema: MAX_CONNECTIONS,
    },
    maxQueue: {
      default: code("UPSTREAM_MAX_QUEUE"),
      meaning: `requests that may wait for one of those connections (${MAX_QUEUE.minimum}–${MAX_QUEUE.maximum}); past it, 503 with \`Retry-After\``,
      schema: MAX_QUEUE,
    },
  },
} satisfies ObjectFormat<RouteFileUpstream>;

export const ROUTE_FORMAT = {
  title: "Route",
  description: "Requests this route takes (methods and path), where they go, and who may send them.",
  fields: {
    name: {
      required: true,
      meaning: "unique; used in logs and metrics (`route=\"notes.list\"`); letters, digits, `.`, `_` or `-`",
      schema: { type: "string", pattern: NAME.source },
    },
    methods: {
      required: true,
      meaning: `a list from ${HTTP_METHODS.join(", ")}; other methods on the path get 405 with \`Allow\``,
      schema: { type: "array", minItems: 1, items: { enum: HTTP_METHODS } },
    },
    path: {
      required: true,
      meaning: "`/`-separated segments: a literal, a `{param}` (one non-empty segment), or a final `*` (the rest). A literal beats a parameter, which beats `*`, whatever the order of the list; literals are matched percent-decoded, as upstreams read them. Two routes that no such rule separates, for a shared method, are an error, and so is a public route that can match any path of a protected route on the same upstream (an upstream that normalizes a path differently could otherwise be reached untokened)",
      schema: { type: "string", pattern: PATH_PATTERN_SOURCE },
    },
    upstream: {
      default: ONE_TARGET,
      meaning: "the name of a declared upstream: the route proxies to it",
      schema: { type: "string", pattern: NAME.source },
    },
    serve: {
      default: ONE_TARGET,
      meaning: "`web-client`: the gateway serves `WEB_CLIENT_DIR` itself",
      schema: { const: "web-client" },
    },
    redirect: {
      default: ONE_TARGET,
      meaning: "a path on this gateway, such as `/app/`: the gateway answers 302 to it",
      schema: { type: "string", pattern: REDIRECT_PATH.source },
    },
    auth: {
      meaning: "`jwt`: a valid bearer token is required (deny by default); `none`: public",
      schema: choice(AUTH_MODES, "jwt"),
    },
    owner: {
      default: "none",
      meaning: "`\"<claim> == <param>\"`: the percent-decoded path parameter must equal the claim exactly, else 403 (`sub == user_id`)",
      schema: { type: "string", pattern: OWNER.source },
    },
    claims: {
      default: "none",
      meaning: "required claims: `{ role: editor }` or `{ role: [editor, admin] }`; the claim must equal one of the values, or, for an array claim such as scopes, contain one; else 403",
      schema: {
        type: "object", minProperties: 1,
        additionalProperties: { anyOf: [claimValue, { type: "array", minItems: 1, items: claimValue }] },
      },
    },
    headers: {
      default: "none",
      meaning: "claim → header: `{ X-User-Email: email }`. Every client-sent copy of every header named in any route's mapping (and its `_` spelling) is removed from every request first. The header is set only when the claim is a string, number or boolean whose text follows the rule for `sub`: visible ASCII or Latin-1, inner spaces only. Names may not contain `_`. Headers the gateway owns or scrubs (`X-User-Id`, `X-Request-Id`, `X-Forwarded-*`, `Forwarded`, `Authorization`, `Cookie`, hop-by-hop and framing headers, routing-override headers such as `X-Original-URL`) cannot be mapped",
      schema: {
        type: "object", minProperties: 1, propertyNames: { pattern: HEADER_NAME.source },
        additionalProperties: { type: "string", minLength: 1 },
      },
    },
    credentials: {
      default: "`forward` (`strip` when `STRIP_AUTHORIZATION=true`)",
      meaning: "what the upstream gets in `Authorization`: `forward` (the client's), `strip` (nothing), or `{ mint: … }`; `upstream` routes only",
      schema: {
        oneOf: [
          { enum: ["forward", "strip"] },
          { type: "object", required: ["mint"], additionalProperties: false, properties: { mint: ref("mint") } },
        ],
      },
    },
    rateLimit: {
      default: "`RATE_LIMIT_PER_USER`, `RATE_LIMIT_PER_ADDRESS` per `RATE_LIMIT_WINDOW_S`",
      meaning: "`off`, or `{ perUser, perAddress, windowS }`: this route's own limits, counted apart from the defaults (fields left out take the defaults); past one, 429 with `Retry-After` and `RateLimit-*` headers. `perUser` counts by `sub`, on `auth: jwt` routes only",
      schema: { oneOf: [{ const: "off" }, ref("rate-limit")] },
    },
  },
} satisfies ObjectFormat<RouteFileRoute>;

export const RATE_LIMIT_FORMAT = {
  title: "rateLimit",
  description: "A route's own rate limits (fixed windows, counted in Redis when REDIS_URL is set).",
  fields: {
    perUser: {
      default: code("RATE_LIMIT_PER_USER"),
      meaning: `requests one \`sub\` may make in a window (${RATE_LIMIT_REQUESTS.minimum}–${RATE_LIMIT_REQUESTS.maximum}); \`auth: jwt\` routes only`,
      schema: RATE_LIMIT_REQUESTS,
    },
    perAddress: {
      default: code("RATE_LIMIT_PER_ADDRESS"),
      meaning: `requests one client address may make in a window (${RATE_LIMIT_REQUESTS.minimum}–${RATE_LIMIT_REQUESTS.maximum}; the address behind \`TRUSTED_PROXIES\`)`,
      schema: RATE_LIMIT_REQUESTS,
    },
    windowS: {
      default: code("RATE_LIMIT_WINDOW_S"),
      meaning: `the window, in seconds (${RATE_LIMIT_WINDOW_S.minimum}–${RATE_LIMIT_WINDOW_S.maximum})`,
      schema: RATE_LIMIT_WINDOW_S,
    },
  },
} satisfies ObjectFormat<RouteFileRateLimit>;

export const MINT_FORMAT = {
  title: "credentials.mint",
  description: "A short-lived token the gateway signs for the upstream after verifying and authorizing the client's.",
  fields: {
    algorithm: {
      meaning: `${HMAC_ALGORITHMS.slice(0, -1).map(code).join(", ")} or ${code(HMAC_ALGORITHMS.at(-1)!)}`,
      schema: choice(HMAC_ALGORITHMS, "HS256"),
    },
    secretEnv: {
      required: true,
      meaning: `the name of the environment variable that holds the upstream's shared secret (at least ${MIN_HMAC_SECRET_BYTES} bytes); the secret itself never appears in the file. It may not be the secret the gateway itself accepts HS* tokens with (\`BETTER_AUTH_SECRET\` with an HS* algorithm in \`JWT_ALGORITHMS\`): the gateway would then accept the tokens it mints`,
      schema: { type: "string", minLength: 1 },
    },
    claims: {
      meaning: `claims copied from the client's token; must include \`${MINT_REQUIRED_CLAIM}\`; ${MINT_RESERVED_CLAIMS.map(code).join(", ")} cannot be listed`,
      schema: {
        type: "array", default: [MINT_REQUIRED_CLAIM],
        items: { type: "string", minLength: 1, not: { enum: MINT_RESERVED_CLAIMS } },
        contains: { const: MINT_REQUIRED_CLAIM },
      },
    },
    issuer: {
      default: "none",
      meaning: "sets `iss`, only if the upstream wants it; `${NAME}` takes an environment variable's value",
      schema: { type: "string", minLength: 1 },
    },
    audience: {
      default: "none",
      meaning: "sets `aud`, only if the upstream wants it; `${NAME}` takes an environment variable's value",
      schema: { type: "string", minLength: 1 },
    },
    ttlSeconds: {
      meaning: `\`exp - iat\` (${TTL_SECONDS.minimum}–${TTL_SECONDS.maximum})`,
      schema: { ...TTL_SECONDS, default: 60 },
    },
  },
} satisfies ObjectFormat<RouteFileMint>;

/** Every object of the format, by the name the schema's `definitions` and the README markers use. */
export const ROUTE_FILE_FORMAT = deepFreeze({
  "top-level": TOP_LEVEL_FORMAT,
  upstream: UPSTREAM_FORMAT,
  route: ROUTE_FORMAT,
  mint: MINT_FORMAT,
  "rate-limit": RATE_LIMIT_FORMAT,
} as const);
export type RouteFileObject = keyof typeof ROUTE_FILE_FORMAT;

/** The field names of an object, in the format's order. */
export function fieldNames(object: RouteFileObject): string[] {
  return Object.keys(ROUTE_FILE_FORMAT[object].fields);
}

/** The range of a whole-number field, for the validator and for the environment defaults. */
export function rangeOf(schema: { readonly minimum: number; readonly maximum: number }): { min: number; max: number } {
  return { min: schema.minimum, max: schema.maximum };
}

/** A field's default in words (Markdown): `required`, the words given, or its schema default. */
export function defaultInWords(field: FieldFormat): string {
  if (field.required) return "required";
  if (field.default !== undefined) return field.default;
  const value = field.schema.default;
  if (value === undefined) throw new Error("an optional field needs a default, in words or in its schema");
  return code(Array.isArray(value) ? `[${value.join(", ")}]` : String(value));
}
