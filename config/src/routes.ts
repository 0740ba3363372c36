/**
 * The route table as data. The gateway proxies nothing that is not listed here (deny by
 * default). A path pattern is a list of `/`-separated segments: a literal, a `{name}`
 * parameter matching one non-empty segment, or a final `*` matching the rest of the path.
 */
export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Where a route's requests go: a named upstream, or the gateway's own operational endpoint. */
export type RouteTarget =
  | { readonly kind: "upstream"; readonly upstream: string }
  | { readonly kind: "ops"; readonly endpoint: "healthz" | "readyz" | "metrics" }
  /** The web client's built files (`WEB_CLIENT_DIR`), served by the gateway itself. */
  | { readonly kind: "static" }
  | { readonly kind: "redirect"; readonly location: string };

export interface RouteSpec {
  /** Stable name used in logs and metrics (`tasks.list`). */
  readonly name: string;
  readonly methods: readonly HttpMethod[];
  readonly path: string;
  readonly target: RouteTarget;
  /** `jwt`: a valid bearer token is required; `none`: public. */
  readonly auth: "none" | "jwt";
  /** With `auth: jwt`: the claim that must equal a path parameter, byte for byte after decoding. */
  readonly owner?: { readonly claim: string; readonly param: string };
}

const legacy = { kind: "upstream", upstream: "legacy" } as const;
const ownedBySub = { claim: "sub", param: "user_id" } as const;

/** The default table: CONTRACT §3 (the gateway's own endpoints, the web client, Better Auth, Spec 001). */
export const DEFAULT_ROUTES: readonly RouteSpec[] = [
  { name: "healthz", methods: ["GET"], path: "/healthz", target: { kind: "ops", endpoint: "healthz" }, auth: "none" },
  { name: "readyz", methods: ["GET"], path: "/readyz", target: { kind: "ops", endpoint: "readyz" }, auth: "none" },
  { name: "metrics", methods: ["GET"], path: "/metrics", target: { kind: "ops", endpoint: "metrics" }, auth: "none" },
  { name: "root", methods: ["GET", "HEAD"], path: "/", target: { kind: "redirect", location: "/app/" }, auth: "none" },
  { name: "app.redirect", methods: ["GET", "HEAD"], path: "/app", target: { kind: "redirect", location: "/app/" }, auth: "none" },
  { name: "app.index", methods: ["GET", "HEAD"], path: "/app/", target: { kind: "static" }, auth: "none" },
  { name: "app.files", methods: ["GET", "HEAD"], path: "/app/*", target: { kind: "static" }, auth: "none" },
  { name: "auth", methods: HTTP_METHODS, path: "/api/auth/*", target: { kind: "upstream", upstream: "auth" }, auth: "none" },
  { name: "tasks.list", methods: ["GET"], path: "/api/{user_id}/tasks", target: legacy, auth: "jwt", owner: ownedBySub },
  { name: "tasks.create", methods: ["POST"], path: "/api/{user_id}/tasks", target: legacy, auth: "jwt", owner: ownedBySub },
  { name: "tasks.get", methods: ["GET"], path: "/api/{user_id}/tasks/{id}", target: legacy, auth: "jwt", owner: ownedBySub },
  { name: "tasks.update", methods: ["PUT"], path: "/api/{user_id}/tasks/{id}", target: legacy, auth: "jwt", owner: ownedBySub },
  { name: "tasks.delete", methods: ["DELETE"], path: "/api/{user_id}/tasks/{id}", target: legacy, auth: "jwt", owner: ownedBySub },
  { name: "tasks.complete", methods: ["PATCH"], path: "/api/{user_id}/tasks/{id}/complete", target: legacy, auth: "jwt", owner: ownedBySub },
];
