import { bySpecificity, type PatternSegment, type RouteSpec } from "@todo-gateway/config";
import { MethodNotAllowedError, RouteNotFoundError } from "../errors.ts";
import { decodeSegment } from "./guard.ts";

export interface CompiledRoute {
  readonly spec: RouteSpec;
  readonly methods: ReadonlySet<string>;
  readonly segments: readonly PatternSegment[];
}

export interface RouteMatch {
  readonly route: CompiledRoute;
  /** Path parameters as received, still percent-encoded. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * The route table in the order config's specificity rule gives it (path-pattern.ts), so
 * `/api/auth/x` always goes to the auth route and never to `/api/{user_id}/...`. It only
 * matches: patterns were compiled and checked when the table was loaded.
 */
export class RouteMatcher {
  private readonly routes: readonly CompiledRoute[];

  constructor(specs: readonly RouteSpec[]) {
    this.routes = specs
      .map((spec) => ({ spec, methods: new Set<string>(spec.methods), segments: spec.pattern }))
      .sort((a, b) => bySpecificity(a.segments, b.segments));
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

function matchSegments(pattern: readonly PatternSegment[], segments: readonly string[]): Record<string, string> | undefined {
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
      // The upstream decodes the path before it routes, so a literal is compared with the decoded
      // segment: `/api/alice/%74asks` is the protected `tasks` route here as it is there, never
      // a public route's `*` (the guard has already refused escapes of separators and dots).
      if (segment !== part.value && (!segment.includes("%") || decodeSegment(segment) !== part.value)) return undefined;
    } else {
      if (segment === "") return undefined;
      params[part.name] = segment;
    }
  }
  return pattern.length === segments.length ? params : undefined;
}
