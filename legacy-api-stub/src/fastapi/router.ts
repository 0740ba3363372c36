import type { RequestBody } from "./request-body.ts";
import type { Answer } from "./respond.ts";
import type { QueryParams } from "./url.ts";

/**
 * Starlette's `Router`, which FastAPI uses: routes are tried in the order they were declared
 * against the percent-decoded path; the first one matching path and method handles the request.
 * Otherwise the first one matching the path alone answers 405 with *its* methods in `Allow`
 * (FastAPI routes never add HEAD); otherwise, when the path with its trailing slashes removed (or
 * one added) would match, a 307 redirect; otherwise 404.
 * https://github.com/encode/starlette/blob/master/starlette/routing.py (Router.app, Route.handle)
 */
export interface RouteShape {
  readonly method: string;
  /** A Starlette path template: `/api/{user_id}/tasks/{task_id}`. */
  readonly path: string;
}

/** A path operation: what FastAPI's `@router.get(...)` and friends declare. */
export interface Route extends RouteShape {
  /** Stable name for logs (`tasks.list`). */
  readonly name: string;
  /** Whether the operation takes a request body; only then is the body read. */
  readonly body?: boolean;
  readonly handle: (request: RouteRequest) => Promise<Answer>;
}

export interface RouteRequest {
  /** Path parameters, percent-decoded, not yet validated. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: QueryParams;
  /** `null` for a route without a body or an empty one. */
  readonly body: RequestBody;
}

export type Resolution<R> =
  | { readonly kind: "found"; readonly route: R; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: "method-not-allowed"; readonly allow: string }
  | { readonly kind: "redirect"; readonly path: string }
  | { readonly kind: "not-found" };

interface Compiled<R> {
  readonly route: R;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

export class Router<R extends RouteShape> {
  private readonly compiled: readonly Compiled<R>[];

  constructor(routes: readonly R[]) {
    this.compiled = routes.map((route) => compile(route));
  }

  resolve(method: string, path: string): Resolution<R> {
    let partial: Compiled<R> | undefined;
    for (const entry of this.compiled) {
      const match = entry.pattern.exec(path);
      if (!match) continue;
      if (entry.route.method === method) {
        const params = Object.fromEntries(entry.names.map((name, i) => [name, match[i + 1]!]));
        return { kind: "found", route: entry.route, params };
      }
      partial ??= entry;
    }
    if (partial) return { kind: "method-not-allowed", allow: partial.route.method };
    if (path !== "/") {
      const other = path.endsWith("/") ? path.replace(/\/+$/, "") : `${path}/`;
      if (this.compiled.some((entry) => entry.pattern.test(other))) return { kind: "redirect", path: other };
    }
    return { kind: "not-found" };
  }
}

function compile<R extends RouteShape>(route: R): Compiled<R> {
  const names: string[] = [];
  const body = route.path
    .split(/(\{[a-zA-Z_][a-zA-Z0-9_]*\})/)
    .map((part) => {
      if (!part.startsWith("{")) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(part.slice(1, -1));
      return "([^/]+)";
    })
    .join("");
  // Python's `$` also matches just before a final newline, so Starlette accepts `/tasks%0A`.
  return { route, names, pattern: new RegExp(`^${body}\\n?$`) };
}
