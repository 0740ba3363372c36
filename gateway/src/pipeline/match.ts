import type { HttpMethod, RouteSpec } from "@todo-gateway/config";
import { MethodNotAllowedError, RouteNotFoundError } from "../errors.ts";

type Segment =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "param"; readonly name: string }
  | { readonly kind: "rest" };

export interface CompiledRoute {
  readonly spec: RouteSpec;
  readonly methods: ReadonlySet<string>;
  readonly segments: readonly Segment[];
}

export interface RouteMatch {
  readonly route: CompiledRoute;
  /** Path parameters as received, still percent-encoded. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * The route table compiled once at start. Lookups prefer a literal segment over a parameter
 * over a trailing `*`, left to right, whatever the order of the table, so `/api/auth/x` always
 * goes to the auth route and never to `/api/{user_id}/...`.
 */
export class RouteMatcher {
  private readonly routes: readonly CompiledRoute[];

  constructor(specs: readonly RouteSpec[]) {
    this.routes = specs.map(compile).sort(bySpecificity);
  }

  /** Finds the route for a guarded path; throws 404, or 405 with the methods the path accepts. */
  match(method: string, segments: readonly string[]): RouteMatch {
    let allowed: Set<string> | undefined;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (params === undefined) continue;
      if (route.methods.has(method)) return { route, params };
      allowed ??= new Set();
      for (const m of route.methods) allowed.add(m);
    }
    if (allowed) throw new MethodNotAllowedError([...allowed]);
    throw new RouteNotFoundError("no route matches this path");
  }
}

function compile(spec: RouteSpec): CompiledRoute {
  const parts = spec.path.slice(1).split("/");
  const segments = parts.map((part, index): Segment => {
    if (part === "*" && index === parts.length - 1) return { kind: "rest" };
    const param = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(part);
    if (param) return { kind: "param", name: param[1]! };
    return { kind: "literal", value: part };
  });
  return { spec, methods: new Set<HttpMethod>(spec.methods), segments };
}

const RANK = { literal: 0, param: 1, rest: 2 } as const;

function bySpecificity(a: CompiledRoute, b: CompiledRoute): number {
  const length = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const left = a.segments[i];
    const right = b.segments[i];
    if (!left || !right) return left ? -1 : 1;
    if (RANK[left.kind] !== RANK[right.kind]) return RANK[left.kind] - RANK[right.kind];
  }
  return 0;
}

function matchSegments(pattern: readonly Segment[], segments: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const part = pattern[i]!;
    if (part.kind === "rest") {
      const rest = segments.slice(i).join("/");
      if (rest === "") return undefined;
      params["*"] = rest;
      return params;
    }
    const segment = segments[i];
    if (segment === undefined) return undefined;
    if (part.kind === "literal") {
      if (segment !== part.value) return undefined;
    } else {
      if (segment === "") return undefined;
      params[part.name] = segment;
    }
  }
  return pattern.length === segments.length ? params : undefined;
}
