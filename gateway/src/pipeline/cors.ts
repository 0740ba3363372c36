import type { ServerResponse } from "node:http";
import { ForbiddenError } from "../errors.ts";

const ALLOWED_REQUEST_HEADERS = "Authorization, Content-Type, X-Request-Id";
const PREFLIGHT_MAX_AGE_S = "600";

/**
 * CORS for the origins in `CORS_ORIGINS` (exact matches, credentials allowed). The gateway is
 * the only CORS authority: preflights are answered here, never proxied, and the upstreams'
 * own `Access-Control-*` headers are dropped (targets/upstream.ts).
 */
export class CorsPolicy {
  private readonly origins: ReadonlySet<string>;

  constructor(origins: readonly string[]) {
    this.origins = new Set(origins);
  }

  get enabled(): boolean {
    return this.origins.size > 0;
  }

  /** Adds the response headers a listed origin needs to read the answer (errors included). */
  decorate(origin: string | undefined, res: ServerResponse): void {
    res.setHeader("vary", "Origin");
    if (origin === undefined || !this.origins.has(origin)) return;
    res.setHeader("access-control-allow-origin", origin);
    res.setHeader("access-control-allow-credentials", "true");
    res.setHeader("access-control-expose-headers", "X-Request-Id, WWW-Authenticate");
  }

  /** Answers a preflight for a listed origin; an unlisted origin is refused (403, no CORS headers). */
  preflight(origin: string | undefined, allowMethods: Iterable<string>, res: ServerResponse): void {
    if (origin === undefined || !this.origins.has(origin)) {
      throw new ForbiddenError("this origin may not call the gateway from a browser");
    }
    res.writeHead(204, [
      "access-control-allow-methods", [...allowMethods].join(", "),
      "access-control-allow-headers", ALLOWED_REQUEST_HEADERS,
      "access-control-max-age", PREFLIGHT_MAX_AGE_S,
    ]);
    res.end();
  }
}

/** A CORS preflight: OPTIONS with an Origin and the method the browser intends to use. */
export function preflightMethod(method: string | undefined, headers: Record<string, string | string[] | undefined>): string | undefined {
  if (method !== "OPTIONS" || headers.origin === undefined) return undefined;
  const requested = headers["access-control-request-method"];
  return typeof requested === "string" ? requested : undefined;
}
