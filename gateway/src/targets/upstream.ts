import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream";
import { upstreamHeaders } from "../pipeline/mutate.ts";
import type { Outcome } from "../pipeline/outcome.ts";
import { hasBody, readBody, type BodyReaderOptions } from "./request-body.ts";

export interface UpstreamTargetDeps {
  readonly bodies: BodyReaderOptions;
  readonly now: () => number;
}

/**
 * An `upstream:` route: read the body (bounded), mutate the headers (scrub, then set the
 * gateway's own, mint credentials where the route says), forward the authorized target byte
 * for byte, and relay the answer. Upstream failures throw their typed refusal (502, 503, 504);
 * a failure after the status line went out closes the client's connection.
 */
export function createUpstreamTarget({ bodies, now }: UpstreamTargetDeps) {
  return async function forwardToUpstream(outcome: Outcome, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const table = outcome.table!;
    const route = outcome.match!.route.spec;
    const target = route.target as { kind: "upstream"; upstream: string };
    const upstream = table.upstreams.get(target.upstream)!;
    const identity = outcome.identity;

    const body = hasBody(req) ? await readBody(req, res, bodies) : undefined;
    const minter = identity && table.minters.get(route.name);
    const headers = upstreamHeaders(req, {
      route, identity, requestId: outcome.requestId, claimHeaderNames: table.claimHeaderNames,
      mintedToken: minter?.mint(identity!, now()), bodyLength: body?.length, authService: upstream.authService,
    });
    const answer = await upstream.send(req.method!, req.url!, headers, body, res);

    res.writeHead(answer.status, answer.headers);
    if (Buffer.isBuffer(answer.body)) {
      res.end(answer.body);
      return;
    }
    // Streamed through; an error on either side ends both (the pool has reported it).
    pipeline(answer.body, res, () => undefined);
  };
}
