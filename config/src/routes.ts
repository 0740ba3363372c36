import { compileKnownPattern, type PatternSegment } from "./path-pattern.ts";

/**
 * The route table as data. The gateway proxies nothing that is not listed here (deny by
 * default). A path pattern is a list of `/`-separated segments: a literal, a `{name}`
 * parameter matching one non-empty segment, or a final `*` matching one or more non-empty segments.
 * Tables are written in JSON or YAML (see route-table.ts and config/README.md); the default
 * one is config/default-routes.yaml.
 */
export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Where a route's requests go. */
export type RouteTarget =
  | { readonly kind: "upstream"; readonly upstream: string }
  | { readonly kind: "ops"; readonly endpoint: "healthz" | "readyz" | "metrics" }
  /** The web client's built files (`WEB_CLIENT_DIR`), served by the gateway itself. */
  | { readonly kind: "static" }
  | { readonly kind: "redirect"; readonly location: string };

/** The algorithms a route may mint upstream tokens with (shared secrets only). */
export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];

/** `jwt`: a valid bearer token is required (the default: deny by default); `none`: public. */
export const AUTH_MODES = ["jwt", "none"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** What the upstream receives in `Authorization`. */
export type UpstreamCredentials =
  | { readonly kind: "forward" }
  | { readonly kind: "strip" }
  /** A short-lived token minted per request, in the form the upstream verifies itself. */
  | {
      readonly kind: "mint";
      readonly algorithm: HmacAlgorithm;
      /** The key (UTF-8 bytes of the named environment variable's value). */
      readonly secret: string;
      /** Claims copied from the verified client token (only those present). */
      readonly claims: readonly string[];
      readonly issuer: string | undefined;
      readonly audience: string | undefined;
      readonly ttlSeconds: number;
    };

export type ClaimValue = string | number | boolean;

export interface RouteSpec {
  /** Stable name used in logs and metrics (`tasks.list`). */
  readonly name: string;
  readonly methods: readonly HttpMethod[];
  readonly path: string;
  /** `path`, compiled once at load (path-pattern.ts); the gateway's matcher walks these. */
  readonly pattern: readonly PatternSegment[];
  readonly target: RouteTarget;
  /** `jwt`: a valid bearer token is required; `none`: public. */
  readonly auth: AuthMode;
  /** With `auth: jwt`: the claim that must equal a path parameter, byte for byte after decoding. */
  readonly owner?: { readonly claim: string; readonly param: string };
  /** With `auth: jwt`: claims that must equal one of the listed values (403 otherwise). */
  readonly requiredClaims?: Readonly<Record<string, readonly ClaimValue[]>>;
  /** With `auth: jwt`: lower-case header name -> claim whose value it carries upstream. */
  readonly claimHeaders?: Readonly<Record<string, string>>;
  readonly credentials: UpstreamCredentials;
  /** The route's own limits (counted apart from the defaults), or `off`; absent: the defaults. */
  readonly rateLimit?: RouteRateLimit | "off";
}

/** A route's own rate limits; a field left out takes the environment's default. */
export interface RouteRateLimit {
  readonly perUser?: number;
  readonly perAddress?: number;
  readonly windowS?: number;
}

/** The gateway's own endpoints: always present, never replaced by a table file. */
export const OPS_ROUTES: readonly RouteSpec[] = (["healthz", "readyz", "metrics"] as const).map((endpoint) => ({
  name: endpoint,
  methods: endpoint === "metrics" ? ["GET"] : ["GET", "HEAD"],
  path: `/${endpoint}`,
  pattern: compileKnownPattern(`/${endpoint}`),
  target: { kind: "ops", endpoint },
  auth: "none",
  credentials: { kind: "strip" },
}));
