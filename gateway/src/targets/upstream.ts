import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline, type Readable } from "node:stream";
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
      mintedToken: minter?.mint(identity!, now()), bodyLength: body?.length, authService: upstream.authService, client: outcome.client,
    });
    const answer = await upstream.send(req.method!, req.url!, headers, body, res);
    const vary = res.getHeader("vary");
    if (vary !== undefined && answer.headers.vary !== undefined) {
      // Both vary: the gateway on Origin (CORS), the upstream on what it chose by.
      answer.headers.vary = `${String(vary)}, ${String(answer.headers.vary)}`;
    }
    if (Buffer.isBuffer(answer.body)) {
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
      return;
    }
    // Streamed through. Until its first byte arrives the answer can still be a 502 or 504;
    // after that, a failure can only cut the connection, and is recorded as the reason.
    const stream = answer.body;
    let first: Buffer | null;
    try {
      first = await firstChunk(stream);
    } catch (error) {
      throw upstream.classify(error);
    }
    res.writeHead(answer.status, answer.headers);
    if (first === null) {
      res.end();
      return;
    }
    res.write(first);
    pipeline(stream, res, (error) => {
      if (error && outcome.refusal === undefined && !res.writableFinished) {
        const failure = upstream.classify(error);
        if (failure.code !== "client_aborted") outcome.refusal = failure;
      }
    });
  };
}

/** The first chunk of a stream (`null` when it ends empty); rejects with its error. */
function firstChunk(stream: Readable): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const settle = () => {
      stream.off("readable", onReadable);
      stream.off("end", onEnd);
      stream.off("error", onError);
    };
    const onReadable = () => {
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) return;
      settle();
      resolve(chunk);
    };
    const onEnd = () => {
      settle();
      resolve(null);
    };
    const onError = (error: Error) => {
      settle();
      reject(error);
    };
    stream.on("readable", onReadable);
    stream.once("end", onEnd);
    stream.once("error", onError);
  });
}
