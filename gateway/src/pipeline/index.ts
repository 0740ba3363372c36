import type { FastifyReply, FastifyRequest } from "fastify";
import type { TokenVerifier, VerifiedToken } from "../auth/verifier.ts";
import { HeadersTooLargeError, OverloadedError, ShuttingDownError } from "../errors.ts";
import type { DrainState } from "../lifecycle.ts";
import type { EventLoopMonitor } from "../ops/event-loop.ts";
import { authorize } from "./authorize.ts";
import { preflightMethod, type CorsPolicy } from "./cors.ts";
import { extractBearerToken } from "./extract.ts";
import { guardHost, guardTarget } from "./guard.ts";
import type { RouteMatch } from "./match.ts";
import type { ActiveRouteTable } from "../route-table.ts";

/** What the pipeline learned about a request; read by the handler, the logger and metrics. */
export interface GatewayContext {
  /** The table this request is served by, even if a reload swaps it meanwhile. */
  table: ActiveRouteTable;
  match: RouteMatch | undefined;
  identity: VerifiedToken | undefined;
  /** The stable reason a request was refused, once it is. */
  refusal: string | undefined;
  /** For a CORS preflight: the methods the matched path accepts. */
  preflightAllow: readonly string[] | undefined;
}

declare module "fastify" {
  interface FastifyRequest {
    gateway: GatewayContext;
  }
}

export interface PipelineDeps {
  /** Holds the table in force; a reload replaces `current`. */
  readonly tables: { readonly current: ActiveRouteTable };
  readonly verifier: TokenVerifier;
  readonly maxTokenBytes: number;
  /** `MAX_HEADER_COUNT`: more header lines than this get 431. */
  readonly maxHeaderCount: number;
  /** Set while the app shuts down: new requests get 503 and their connection is closed. */
  readonly drain: DrainState;
  /** Event-loop lag: past its threshold, new requests (but the gateway's own endpoints) get 503. */
  readonly eventLoop: EventLoopMonitor;
  readonly cors: CorsPolicy;
}

/**
 * The order, written once: guard -> match -> extract -> authenticate -> authorize. Each stage
 * adds to the context or throws a typed error; mutate and forward run in the handler. It runs
 * as an `onRequest` hook, so a refused request is answered before its body is read.
 */
export function createPipeline({ tables, verifier, maxTokenBytes, maxHeaderCount, drain, eventLoop, cors }: PipelineDeps) {
  return async function runPipeline(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    reply.header("x-request-id", request.id);
    if (drain.draining) {
      reply.header("connection", "close");
      throw new ShuttingDownError("the gateway is shutting down; retry the request");
    }
    const table = tables.current;
    const matcher = table.matcher;
    const context: GatewayContext = { table, match: undefined, identity: undefined, refusal: undefined, preflightAllow: undefined };
    request.gateway = context;
    const headers = request.raw.headers;
    if (cors.enabled) cors.decorate(headers.origin, reply);

    // Node keeps maxHeaderCount + 1 lines, so reaching that count means there were too many.
    if (request.raw.rawHeaders.length > maxHeaderCount * 2) throw new HeadersTooLargeError(`more than ${maxHeaderCount} header fields`);
    guardHost(request.raw.rawHeaders, request.raw.httpVersionMinor);
    const target = guardTarget(request.raw.url ?? "");
    const preflightFor = cors.enabled ? preflightMethod(request.raw.method, headers) : undefined;
    if (preflightFor !== undefined) {
      // Preflights carry no credentials: answer them here, for the method the browser intends.
      context.match = matcher.match(preflightFor, target.segments);
      context.preflightAllow = [...context.match.route.methods];
      return;
    }
    const match = matcher.match(request.raw.method ?? "", target.segments);
    context.match = match;
    if (eventLoop.overloaded && match.route.spec.target.kind !== "ops") throw new OverloadedError("the gateway is overloaded; try again shortly");
    if (match.route.spec.auth !== "jwt") return;

    const token = extractBearerToken(request.raw.rawHeaders, maxTokenBytes);
    const identity = verifier.cached(token) ?? (await verifier.verify(token));
    context.identity = identity;
    authorize(match, identity);
  };
}
