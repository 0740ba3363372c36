import type { ServerResponse } from "node:http";
import type { RouteTables } from "../active-route-table.ts";
import type { KeyResolver } from "../auth/keys.ts";
import type { EventLoopMonitor } from "../ops/event-loop.ts";
import type { ReadinessProbe } from "../ops/readiness.ts";
import type { Revocations } from "../revocation/index.ts";

export interface OpsTargetDeps {
  readonly tables: RouteTables;
  readonly keys: KeyResolver;
  /** The metrics text: this process's, or with workers the sum of every worker's. */
  readonly renderMetrics: () => Promise<string>;
  readonly readiness: ReadinessProbe;
  readonly eventLoop: EventLoopMonitor;
  readonly revocations: Revocations;
  readonly rateLimitsShared: () => boolean | undefined;
}

function json(res: ServerResponse, status: number, body: unknown, contentType = "application/json; charset=utf-8"): void {
  const text = JSON.stringify(body);
  res.writeHead(status, ["content-type", contentType, "cache-control", "no-store", "content-length", String(Buffer.byteLength(text))]);
  res.end(text);
}

/** The gateway's own endpoints: `/healthz`, `/readyz` and `/metrics`. */
export function createOpsTarget(deps: OpsTargetDeps) {
  return async function serveOps(endpoint: "healthz" | "readyz" | "metrics", res: ServerResponse): Promise<void> {
    switch (endpoint) {
      case "healthz":
        return json(res, 200, { status: "ok" });
      case "readyz": {
        const table = deps.tables.current;
        const state = await deps.readiness.check({
          keys: deps.keys, upstreams: [...table.upstreams.values()], required: table.protectedUpstreams, overloaded: deps.eventLoop.overloaded,
          revocations: deps.revocations.status, rateLimitsShared: deps.rateLimitsShared(),
        });
        if (state.ready) return json(res, 200, { status: "ready", checks: state.checks });
        return json(res, 503, {
          type: "urn:todo-gateway:problem:not-ready", title: "Not ready", status: 503,
          detail: `not ready: ${state.missing.join("; ")}`, checks: state.checks,
        }, "application/problem+json");
      }
      case "metrics": {
        const text = await deps.renderMetrics();
        res.writeHead(200, ["content-type", "text/plain; version=0.0.4; charset=utf-8", "cache-control", "no-store", "content-length", String(Buffer.byteLength(text))]);
        res.end(text);
      }
    }
  };
}
