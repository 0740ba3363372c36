import type { GatewayConfig, RouteTable } from "@todo-gateway/config";
import { routeLimits, unmatchedLimits, type RouteLimits } from "./pipeline/rate-limit.ts";
import { RouteMatcher } from "./pipeline/match.ts";
import { UpstreamTokenMinter } from "./pipeline/mint.ts";
import { UpstreamPool, type UpstreamEvents } from "./targets/upstream-pool.ts";

/** How long a replaced upstream pool stays open for requests already sent through it. */
const RETIRE_AFTER_MS = 30_000;

/**
 * A validated route table compiled for serving: the matcher, one keep-alive pool per upstream, a
 * minter per re-minting route, and every header name a claim mapping can set (scrubbed from
 * all client requests). A reload builds a new one and swaps it in whole; each request keeps
 * the one it started with.
 */
export class ActiveRouteTable {
  readonly matcher: RouteMatcher;
  readonly upstreams: ReadonlyMap<string, UpstreamPool>;
  readonly minters: ReadonlyMap<string, UpstreamTokenMinter>;
  /** Lower-case names of headers only the gateway may set (claim mappings). */
  readonly claimHeaderNames: ReadonlySet<string>;
  /** Upstreams behind at least one protected route: readiness depends on them. */
  readonly protectedUpstreams: ReadonlySet<string>;
  /** Each route's rate limits, resolved against the defaults. */
  readonly limits: ReadonlyMap<string, RouteLimits>;
  /** The limits of a request no route matched. */
  readonly unmatchedLimits: RouteLimits;

  constructor(readonly table: RouteTable, previous: ActiveRouteTable | undefined, events: UpstreamEvents, rateLimits: GatewayConfig["rateLimits"]) {
    this.matcher = new RouteMatcher(table.routes);
    const upstreams = new Map<string, UpstreamPool>();
    for (const [name, settings] of Object.entries(table.upstreams)) {
      const reusable = previous?.upstreams.get(name);
      upstreams.set(name, reusable?.sameAs(settings) ? reusable : new UpstreamPool(name, settings, events));
    }
    this.upstreams = upstreams;
    const minters = new Map<string, UpstreamTokenMinter>();
    const claimHeaderNames = new Set<string>();
    const protectedUpstreams = new Set<string>();
    for (const route of table.routes) {
      if (route.auth === "jwt" && route.target.kind === "upstream") protectedUpstreams.add(route.target.upstream);
      if (route.credentials.kind === "mint") minters.set(route.name, new UpstreamTokenMinter(route.credentials));
      for (const header of Object.keys(route.claimHeaders ?? {})) claimHeaderNames.add(header);
    }
    this.limits = new Map(table.routes.map((route) => [route.name, routeLimits(route, rateLimits)]));
    this.unmatchedLimits = unmatchedLimits(rateLimits);
    this.minters = minters;
    this.claimHeaderNames = claimHeaderNames;
    this.protectedUpstreams = protectedUpstreams;
  }

  /** Closes the pools the next table does not reuse, once in-flight requests had time to end. */
  retire(next: ActiveRouteTable): void {
    const kept = new Set(next.upstreams.values());
    const unused = [...this.upstreams.values()].filter((upstream) => !kept.has(upstream));
    if (unused.length === 0) return;
    setTimeout(() => void Promise.all(unused.map((upstream) => upstream.close())), RETIRE_AFTER_MS).unref();
  }

  close(): Promise<void> {
    return Promise.all([...this.upstreams.values()].map((upstream) => upstream.close())).then(() => undefined);
  }
}

/** Holds the table in force; a reload (SIGHUP) replaces it, in-flight requests keep theirs. */
export class RouteTables {
  private active: ActiveRouteTable;

  constructor(table: RouteTable, private readonly rateLimits: GatewayConfig["rateLimits"], private readonly events: UpstreamEvents = {}) {
    this.active = new ActiveRouteTable(table, undefined, events, rateLimits);
  }

  get current(): ActiveRouteTable {
    return this.active;
  }

  /** Swaps in a new, already validated table. */
  replace(table: RouteTable): void {
    const previous = this.active;
    this.active = new ActiveRouteTable(table, previous, this.events, this.rateLimits);
    previous.retire(this.active);
  }

  close(): Promise<void> {
    return this.active.close();
  }
}
