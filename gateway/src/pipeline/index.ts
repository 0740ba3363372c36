import type { IncomingMessage, ServerResponse } from "node:http";
import type { RouteTables } from "../active-route-table.ts";
import type { TokenVerifier } from "../auth/verifier.ts";
import { ClientAbortedError, HeadersTooLargeError, OverloadedError, RouteNotFoundError, ShuttingDownError, type GatewayError } from "../errors.ts";
import type { DrainState } from "../lifecycle.ts";
import type { EventLoopMonitor } from "../ops/event-loop.ts";
import type { Recorder } from "../ops/recorder.ts";
import type { Revocations } from "../revocation/index.ts";
import { rateLimitHeaders, toGatewayError, writeProblem } from "../respond.ts";
import type { createTargets } from "../targets/index.ts";
import { authenticate } from "./authenticate.ts";
import { authorize } from "./authorize.ts";
import { preflightMethod, type CorsPolicy } from "./cors.ts";
import { extractBearerToken } from "./extract.ts";
import type { ClientAddresses } from "./client-address.ts";
import { guardFraming, guardHost, guardTarget } from "./guard.ts";
import type { RouteMatch } from "./match.ts";
import type { RateLimiter } from "./rate-limit.ts";
import { newOutcome, type Outcome } from "./outcome.ts";

/** Requests that may wait behind the one being served on a connection (HTTP/1.1 pipelining). */
const MAX_PIPELINED = 16;
const PIPELINED = Symbol("requests waiting on this connection");
type PipelinedSocket = IncomingMessage["socket"] & { [PIPELINED]?: (() => void)[] | undefined };

export interface PipelineDeps {
  readonly tables: RouteTables;
  readonly verifier: TokenVerifier;
  /** Revoked sessions and users (docs/revocation.md): a revoked token is refused like an invalid one. */
  readonly revocations: Revocations;
  readonly targets: ReturnType<typeof createTargets>;
  readonly recorder: Recorder;
  readonly cors: CorsPolicy;
  /** Set while the app shuts down: new requests get 503 and their connection is closed. */
  readonly drain: DrainState;
  /** Event-loop lag: past its threshold, new requests (but the gateway's own endpoints) get 503. */
  readonly eventLoop: EventLoopMonitor;
  /** `MAX_HEADER_COUNT`: more header lines than this get 431. */
  readonly maxHeaderCount: number;
  readonly maxTokenBytes: number;
  /** TRUSTED_PROXIES: who the client is. */
  readonly clients: ClientAddresses;
  readonly rateLimiter: RateLimiter;
}

/**
 * The life of a request, in order, in one place (Ory Oathkeeper's request handler):
 *
 *   admit → guard → match → shed → limit (address) → extract → authenticate → revocation → authorize
 *   → limit (user) → [new stages] → target
 *
 * Each stage adds to the request's {@link Outcome} or throws a typed refusal; the target (an
 * upstream, the web client's files, a redirect, the gateway's own endpoints) answers what got
 * through, and an upstream target mutates the headers before it forwards. A refusal is
 * rendered by respond.ts; the recorder writes metrics and the access line from the outcome,
 * once the answer is over. Nothing here knows Fastify: it reads the request and writes the
 * response Node gave the server.
 */
export class RequestPipeline {
  constructor(private readonly deps: PipelineDeps) {}

  /**
   * Answers one request; never throws. Requests pipelined on one connection are served one at a
   * time, in order (Node would start them all at once, each holding its answer until the ones
   * before it are written): at most {@link MAX_PIPELINED} may wait, past that the connection
   * is closed.
   */
  handle(req: IncomingMessage, res: ServerResponse, requestId: string): void {
    const socket = req.socket as PipelinedSocket;
    const waiting = socket[PIPELINED];
    if (waiting === undefined) {
      this.serve(req, res, requestId);
      return;
    }
    if (waiting.length >= MAX_PIPELINED) {
      socket.destroy();
      return;
    }
    waiting.push(() => this.serve(req, res, requestId));
  }

  private serve(req: IncomingMessage, res: ServerResponse, requestId: string): void {
    const socket = req.socket as PipelinedSocket;
    socket[PIPELINED] ??= [];
    const outcome = newOutcome(requestId, req.method ?? "");
    res.once("close", () => {
      this.deps.recorder.finished(outcome, res);
      const next = socket[PIPELINED]?.shift();
      if (next !== undefined) next();
      else socket[PIPELINED] = undefined;
    });
    res.setHeader("x-request-id", requestId);
    if (this.deps.cors.enabled) this.deps.cors.decorate(req.headers.origin, res);
    this.run(outcome, req, res).catch((error: unknown) => this.refuse(outcome, req, res, toGatewayError(error)));
  }

  /** Answers a request the HTTP layer refused before routing (a malformed URL, say). */
  reject(req: IncomingMessage, res: ServerResponse, requestId: string, error: GatewayError): void {
    const outcome = newOutcome(requestId, req.method ?? "");
    res.once("close", () => this.deps.recorder.finished(outcome, res));
    res.setHeader("x-request-id", requestId);
    this.refuse(outcome, req, res, error);
  }

  /** What a CONNECT is told (it never reaches a response: lifecycle.ts writes it to the socket). */
  refuseConnect(target: string): GatewayError {
    let refusal: GatewayError;
    try {
      this.deps.tables.current.matcher.match("CONNECT", guardTarget(target).segments);
      refusal = new RouteNotFoundError("no route matches this path");
    } catch (error) {
      refusal = toGatewayError(error);
    }
    this.deps.recorder.connectionRefusal(refusal);
    return refusal;
  }

  private async run(outcome: Outcome, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { cors, eventLoop, verifier } = this.deps;

    // admit: not while draining; no more header lines than the cap (Node keeps cap + 1, so
    // reaching that count means there were more).
    if (this.deps.drain.draining) throw new ShuttingDownError("the gateway is shutting down; retry the request");
    if (req.rawHeaders.length > this.deps.maxHeaderCount * 2) throw new HeadersTooLargeError(`more than ${this.deps.maxHeaderCount} header fields`);

    // Who is asking: the socket's peer, or the client behind a trusted proxy.
    const client = (outcome.client = this.deps.clients.resolve(req));

    // guard: plain framing, one valid Host, a plain origin-form target.
    guardFraming(req.headers["transfer-encoding"]);
    guardHost(req.rawHeaders, req.httpVersionMinor);
    const { segments } = guardTarget(req.url ?? "");

    // match: the route, on the table in force now (a reload does not change it midway).
    const table = (outcome.table = this.deps.tables.current);
    const preflightFor = cors.enabled ? preflightMethod(outcome.method, req.headers) : undefined;
    if (preflightFor !== undefined) {
      // A CORS preflight carries no credentials: answered here, for the method the browser intends.
      outcome.match = table.matcher.match(preflightFor, segments);
      return cors.preflight(req.headers.origin, outcome.match.route.methods, res);
    }
    let match: RouteMatch;
    try {
      match = outcome.match = table.matcher.match(outcome.method, segments);
    } catch (refusal) {
      // A scanner's 404s count against its address too.
      if (table.unmatchedLimits.perAddress !== undefined) await this.deps.rateLimiter.take("address", client.address, table.unmatchedLimits.perAddress, undefined);
      throw refusal;
    }

    // shed: while the event loop lags, only the gateway's own endpoints are served.
    if (eventLoop.overloaded && match.route.spec.target.kind !== "ops") throw new OverloadedError("the gateway is overloaded; try again shortly");

    // limit (address): fixed windows, per route or on the defaults.
    const limits = table.limits.get(match.route.spec.name)!;
    let limited = limits.perAddress === undefined ? undefined : await this.deps.rateLimiter.take("address", client.address, limits.perAddress, undefined);

    if (match.route.spec.auth === "jwt") {
      // extract → authenticate → revocation → authorize.
      const token = extractBearerToken(req.rawHeaders, this.deps.maxTokenBytes);
      const identity = (outcome.identity = await authenticate(verifier, token, outcome));
      this.deps.revocations.check(identity);
      authorize(match, identity);
      // limit (user): counted only for requests that would be served.
      if (limits.perUser !== undefined) limited = await this.deps.rateLimiter.take("user", identity.sub, limits.perUser, limited);
      // New stages go here: each reads the outcome and throws a refusal.
    }
    if (limited !== undefined) for (const [name, value] of pairsOf(rateLimitHeaders(limited))) res.setHeader(name, value);

    // target: the route's kind answers (an upstream mutates the headers, forwards and relays).
    await this.deps.targets[match.route.spec.target.kind](outcome, req, res);
  }

  private refuse(outcome: Outcome, req: IncomingMessage, res: ServerResponse, error: GatewayError): void {
    outcome.refusal = error;
    // Nobody left to answer, or the answer has started: all that is honest is to close.
    if (error instanceof ClientAbortedError || res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    // A refusal sent before the body was read leaves the connection unusable for another request.
    if (!req.complete || this.deps.drain.draining) res.setHeader("connection", "close");
    writeProblem(res, error);
  }
}

function* pairsOf(list: readonly string[]): Generator<[string, string]> {
  for (let i = 0; i < list.length; i += 2) yield [list[i]!, list[i + 1]!];
}
