import type { IncomingMessage, ServerResponse } from "node:http";
import type { RouteTarget } from "@todo-gateway/config";
import { decodeSegment } from "../pipeline/guard.ts";
import type { Outcome } from "../pipeline/outcome.ts";
import type { createOpsTarget } from "./ops.ts";
import type { StaticFiles } from "./static-files.ts";
import type { createUpstreamTarget } from "./upstream.ts";

/** Answers an authorized request for one kind of route target. */
type TargetHandler = (outcome: Outcome, req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface TargetDeps {
  readonly upstream: ReturnType<typeof createUpstreamTarget>;
  readonly ops: ReturnType<typeof createOpsTarget>;
  readonly webClient: StaticFiles;
}

/** The one table from a route's target kind to what answers it. */
export function createTargets({ upstream, ops, webClient }: TargetDeps): Readonly<Record<RouteTarget["kind"], TargetHandler>> {
  const targetOf = <K extends RouteTarget["kind"]>(outcome: Outcome) => outcome.match!.route.spec.target as Extract<RouteTarget, { kind: K }>;
  return {
    upstream,
    ops: (outcome, _req, res) => ops(targetOf<"ops">(outcome).endpoint, res),
    redirect: (outcome, _req, res) => {
      res.writeHead(302, ["location", targetOf<"redirect">(outcome).location, "content-length", "0"]);
      res.end();
    },
    static: (outcome, req, res) => {
      const file = webClient.get(decodeSegment(outcome.match!.params["*"] ?? ""));
      if (req.headers["if-none-match"] === file.etag) {
        res.writeHead(304, file.notModifiedHeaders);
        res.end();
        return;
      }
      res.writeHead(200, file.headers);
      res.end(file.body);
    },
  };
}
