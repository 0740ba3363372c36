import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { GatewayConfig, RouteTable } from "@todo-gateway/config";
import { KeyResolver } from "./auth/keys.ts";
import { TokenVerifier } from "./auth/verifier.ts";
import { BodyBudget, hasBody, readBody } from "./body.ts";
import { ClientAbortedError, InternalError, RouteNotFoundError, UpstreamBusyError, UpstreamTimeoutError, UpstreamUnavailableError, type GatewayError } from "./errors.ts";
import { clientErrorHandler, DrainState, guardConnections } from "./lifecycle.ts";
import { createLogger, DependencyWarnings, describeCause } from "./log.ts";
import { EventLoopMonitor } from "./ops/event-loop.ts";
import { Metrics } from "./ops/metrics.ts";
import { ReadinessProbe } from "./ops/readiness.ts";
import { CorsPolicy } from "./pipeline/cors.ts";
import { decodeSegment, guardTarget } from "./pipeline/guard.ts";
import { createPipeline } from "./pipeline/index.ts";
import { upstreamHeaders } from "./pipeline/mutate.ts";
import { requestIdFor } from "./request-id.ts";
import { sendProblem, toGatewayError } from "./respond.ts";
import { ActiveRouteTable } from "./route-table.ts";
import { StaticFiles } from "./web/static-files.ts";

export interface GatewayDeps {
  /** The clock for token checks (tests pin it). */
  readonly now?: () => number;
  /** `false` silences logs (tests); otherwise pino at the configured level. */
  readonly logger?: boolean;
  /** Minimum time between JWKS fetches caused by an unknown kid (default 30 s). */
  readonly unknownKidCooldownMs?: number;
  /** Floor on the background JWKS refresh period (default 1 s, see auth/keys.ts). */
  readonly minJwksRefreshMs?: number;
  /** Where log lines go (default stdout). */
  readonly logStream?: NodeJS.WritableStream;
}

declare module "fastify" {
  interface FastifyInstance {
    /** Swaps in a new, already validated route table (SIGHUP); in-flight requests keep theirs. */
    replaceRouteTable(table: RouteTable): void;
  }
}

/**
 * Builds the gateway for a validated configuration; never listens. Long-lived parts (key
 * resolver, token cache, upstream pools) are created here once and closed in `onClose`.
 */
export async function buildApp(config: GatewayConfig, deps: GatewayDeps = {}): Promise<FastifyInstance> {
  const now = deps.now ?? Date.now;
  const { log, access } = createLogger(deps.logger === false ? "silent" : config.logLevel, deps.logStream);
  const warnings = new DependencyWarnings(log);
  const metrics = new Metrics();
  const keys = new KeyResolver({
    jwksUrl: config.jwt.jwksUrl,
    hmacSecret: config.jwt.hmacSecret,
    algorithms: config.jwt.algorithms,
    unknownKidCooldownMs: deps.unknownKidCooldownMs,
    minRefreshMs: deps.minJwksRefreshMs,
    events: {
      onFetch: (result, detail) => {
        metrics.jwksFetches[result] += 1;
        if (result === "failure") {
          warnings.warn("jwks", `JWKS fetch failed (${describeCause(detail.error)}); verifying with the ${keys.keyCount} keys already loaded`, { jwksUrl: config.jwt.jwksUrl });
        }
      },
    },
  });
  const verifier = new TokenVerifier({ jwt: config.jwt, keys, metrics, now });
  const upstreamEvents = {
    onStreamFailure: (upstream: string, error: GatewayError) => {
      if (!(error instanceof ClientAbortedError)) warnings.warn(`upstream:${upstream}`, `upstream ${upstream} failed mid-answer: ${error.detail} (${describeCause(error.cause)})`);
    },
  };
  const tables = { current: new ActiveRouteTable(config.routeTable, undefined, upstreamEvents) };
  const drain = new DrainState();
  const eventLoop = new EventLoopMonitor(config.limits.maxEventLoopDelayMs);
  const bodyBudget = new BodyBudget(config.limits.bodyMemoryBytes);
  const readiness = new ReadinessProbe();
  const cors = new CorsPolicy(config.corsOrigins);
  const webClient = new StaticFiles(config.webClientDir);
  const runPipeline = createPipeline({
    tables, verifier, maxTokenBytes: config.jwt.maxTokenBytes, maxHeaderCount: config.limits.maxHeaderCount, drain, eventLoop, cors,
  });

  const app = Fastify({
    // No per-request child logger (a pino child per request is measurable on the hot path):
    // every request shares `log`, and its one line carries reqId explicitly (onResponse below).
    loggerInstance: log as FastifyBaseLogger,
    childLoggerFactory: (logger) => logger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdFor,
    exposeHeadRoutes: false,
    trustProxy: false,
    // A backstop only: the body reader answers 408 at REQUEST_TIMEOUT_MS (lifecycle.ts).
    requestTimeout: config.limits.requestTimeoutMs + 5_000,
    // Draining is answered by the pipeline, as problem+json like any refusal.
    return503OnClosing: false,
    // Host is checked by the pipeline, so a missing one gets a problem+json answer like any refusal.
    // Node checks header and request deadlines on this period (its default is 30 s).
    http: { requireHostHeader: false, connectionsCheckingInterval: 1_000 },
    frameworkErrors: (error, request, reply) => refuse(request, reply, toGatewayError(error)),
    clientErrorHandler: clientErrorHandler({ onClientError: (error) => metrics.refuse(error.code) }),
  });

  guardConnections(
    app.server,
    {
      maxConnections: config.limits.maxConnections,
      // One more than the cap, so the guard can see that the cap was passed (and answer 431).
      maxHeadersCount: config.limits.maxHeaderCount + 1,
      headersTimeoutMs: config.limits.headersTimeoutMs,
      requestTimeoutMs: config.limits.requestTimeoutMs + 5_000,
    },
    connectRefusal,
    { onConnectionDropped: () => (metrics.connectionsDropped += 1) },
  );
  function connectRefusal(target: string): GatewayError {
    let refusal: GatewayError;
    try {
      const { segments } = guardTarget(target);
      tables.current.matcher.match("CONNECT", segments);
      refusal = new RouteNotFoundError("no route matches this path");
    } catch (error) {
      refusal = toGatewayError(error);
    }
    metrics.refuse(refusal.code);
    return refusal;
  }

  app.decorateRequest("gateway", null as never);
  app.decorate("replaceRouteTable", (table: RouteTable) => {
    const previous = tables.current;
    tables.current = new ActiveRouteTable(table, previous, upstreamEvents);
    previous.retire(tables.current);
  });
  // Bodies are read by the upstream handler (body.ts: size cap, memory budget, deadline), after
  // the request is authorized; Fastify only routes them there untouched.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _payload, done) => done(null, undefined));

  function refuse(request: FastifyRequest, reply: FastifyReply, error: GatewayError): FastifyReply {
    if (request.gateway) request.gateway.refusal = error.code;
    metrics.refuse(error.code);
    if (error instanceof ClientAbortedError) {
      // Nobody to answer: close, and write the request's line here (onResponse never runs).
      reply.hijack();
      reply.raw.destroy();
      recordRequest(request, 499, reply.elapsedTime);
      return reply;
    }
    if (error instanceof InternalError) log.error({ reqId: request.id, err: error.cause }, "unexpected failure");
    reply.header("x-request-id", request.id);
    // A refusal sent before the body was read leaves the connection unusable for another request.
    if (!request.raw.complete || drain.draining) reply.header("connection", "close");
    return sendProblem(reply, error);
  }

  app.setErrorHandler((error, request, reply) => refuse(request, reply, toGatewayError(error)));
  // Fastify's catch-all knows only standard methods; others arrive here and get the same
  // guard and matcher, so a known path still answers 405 with Allow.
  app.setNotFoundHandler(async (request, reply) => {
    await runPipeline(request, reply);
    return refuse(request, reply, new RouteNotFoundError("no route matches this path"));
  });

  app.all("/*", { onRequest: runPipeline }, async (request, reply) => {
    const { table, match, identity, preflightAllow } = request.gateway;
    if (preflightAllow !== undefined) return cors.preflight(request.raw.headers.origin, preflightAllow, reply);
    const route = match!.route.spec;
    const target = route.target;
    switch (target.kind) {
      case "ops":
        return serveOps(target.endpoint, reply);
      case "redirect":
        return reply.code(302).header("location", target.location).send();
      case "static": {
        const file = webClient.get(decodeSegment(match!.params["*"] ?? ""));
        if (request.headers["if-none-match"] === file.headers.etag) return reply.code(304).headers(file.headers).send();
        return reply.headers(file.headers).send(file.body);
      }
      case "upstream":
        break;
    }
    const upstream = table.upstreams.get(target.upstream)!;
    const body = hasBody(request.raw)
      ? await readBody(request.raw, reply.raw, { budget: bodyBudget, maxBytes: config.bodyLimitBytes, timeoutMs: config.limits.requestTimeoutMs })
      : undefined;
    const minter = identity && table.minters.get(route.name);
    const headers = upstreamHeaders(request.raw, {
      route, identity, requestId: request.id, claimHeaderNames: table.claimHeaderNames,
      mintedToken: minter?.mint(identity!, now()), bodyLength: body?.length, authService: upstream.authService,
    });
    if (identity) metrics.tokensAccepted += 1;
    let response;
    try {
      response = await upstream.send(request.raw.method!, request.raw.url!, headers, body, reply.raw);
    } catch (error) {
      if (error instanceof UpstreamUnavailableError || error instanceof UpstreamTimeoutError || error instanceof UpstreamBusyError) {
        warnings.warn(`upstream:${upstream.name}`, `${error.detail} (${describeCause(error.cause ?? error.code)})`, { upstream: upstream.name, reason: error.code });
      }
      throw error;
    }
    reply.code(response.status).headers(response.headers).header("x-request-id", request.id);
    return reply.send(response.body);
  });

  async function serveOps(endpoint: "healthz" | "readyz" | "metrics", reply: FastifyReply) {
    reply.header("cache-control", "no-store");
    switch (endpoint) {
      case "healthz":
        return { status: "ok" };
      case "readyz": {
        const table = tables.current;
        const state = await readiness.check({
          keys, upstreams: [...table.upstreams.values()], required: table.protectedUpstreams, overloaded: eventLoop.overloaded,
        });
        if (state.ready) return { status: "ready", checks: state.checks };
        return reply
          .code(503)
          .header("content-type", "application/problem+json")
          .send(JSON.stringify({
            type: "urn:todo-gateway:problem:not-ready", title: "Not ready", status: 503,
            detail: `not ready: ${state.missing.join("; ")}`, checks: state.checks,
          }));
      }
      case "metrics":
        reply.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
        return metrics.render({
          jwksKeys: keys.keyCount, tokenCacheEntries: verifier.cachedTokens, ready: keys.ready,
          bodyBytesHeld: bodyBudget.usedBytes, eventLoopLagMs: eventLoop.lastLagMs,
          upstreams: [...tables.current.upstreams.values()].map((upstream) => ({ name: upstream.name, pending: upstream.pending, up: readiness.lastResult(upstream) })),
        });
    }
  }

  function recordRequest(request: FastifyRequest, status: number, elapsedMs: number): void {
    const context = request.gateway;
    const route = context?.match?.route.spec.name ?? "unmatched";
    metrics.observeRequest(route, status, elapsedMs / 1000);
    access({
      reqId: request.id, method: request.raw.method ?? "", route, status, ms: Math.round(elapsedMs * 100) / 100,
      sub: context?.identity?.sub, reason: context?.refusal,
    });
  }

  app.addHook("onResponse", (request, reply, done) => {
    recordRequest(request, reply.statusCode, reply.elapsedTime);
    done();
  });

  // Graceful shutdown: in-flight requests finish; connections are closed as soon as they go
  // idle instead of lingering for the keep-alive timeout, and late requests get 503 + close.
  app.addHook("preClose", (done) => {
    drain.begin(app.server);
    done();
  });

  app.addHook("onClose", async () => {
    keys.close();
    eventLoop.stop();
    await tables.current.close();
  });

  eventLoop.start();
  await keys.start();
  return app;
}
