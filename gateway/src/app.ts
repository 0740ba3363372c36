import type { Socket } from "node:net";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { GatewayConfig, RouteTable } from "@todo-gateway/config";
import { KeyResolver } from "./auth/keys.ts";
import { TokenVerifier } from "./auth/verifier.ts";
import { InternalError, RouteNotFoundError, type GatewayError } from "./errors.ts";
import { createLogger } from "./log.ts";
import { Metrics } from "./ops/metrics.ts";
import { checkReadiness } from "./ops/readiness.ts";
import { CorsPolicy } from "./pipeline/cors.ts";
import { decodeSegment, guardTarget } from "./pipeline/guard.ts";
import { createPipeline } from "./pipeline/index.ts";
import { upstreamHeaders } from "./pipeline/mutate.ts";
import { requestIdFor } from "./request-id.ts";
import { rawProblemResponse, sendProblem, toGatewayError } from "./respond.ts";
import { ActiveRouteTable } from "./route-table.ts";
import { StaticFiles } from "./web/static-files.ts";

export interface GatewayDeps {
  /** The clock for token checks (tests pin it). */
  readonly now?: () => number;
  /** `false` silences logs (tests); otherwise pino at the configured level. */
  readonly logger?: boolean;
  /** Minimum time between JWKS fetches caused by an unknown kid (default 30 s). */
  readonly unknownKidCooldownMs?: number;
  /** Floor on the background JWKS refresh period (default 5 s). */
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
  const metrics = new Metrics();
  // eslint-disable-next-line prefer-const -- the verifier and the resolver refer to each other
  let verifier: TokenVerifier;
  const keys = new KeyResolver({
    jwksUrl: config.jwt.jwksUrl,
    hmacSecret: config.jwt.hmacSecret,
    algorithms: config.jwt.algorithms,
    unknownKidCooldownMs: deps.unknownKidCooldownMs,
    minRefreshMs: deps.minJwksRefreshMs,
    events: {
      onFetch: (result, detail) => {
        metrics.jwksFetches[result] += 1;
        if (result === "failure") log.warn({ err: detail.error, keysLoaded: keys.keyCount }, "JWKS fetch failed; verifying with the keys already loaded");
      },
      onKeysRetired: () => verifier.forget(),
    },
  });
  verifier = new TokenVerifier({ jwt: config.jwt, keys, metrics, now });
  const tables = { current: new ActiveRouteTable(config.routeTable) };
  const drainState = { draining: false };
  const cors = new CorsPolicy(config.corsOrigins);
  const webClient = new StaticFiles(config.webClientDir);
  const runPipeline = createPipeline({ tables, verifier, maxTokenBytes: config.jwt.maxTokenBytes, drainState, cors });

  const app = Fastify({
    // No per-request child logger (a pino child per request is measurable on the hot path):
    // every request shares `log`, and its one line carries reqId explicitly (onResponse below).
    loggerInstance: log as FastifyBaseLogger,
    childLoggerFactory: (logger) => logger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdFor,
    bodyLimit: config.bodyLimitBytes,
    exposeHeadRoutes: false,
    trustProxy: false,
    requestTimeout: 120_000,
    // Host is checked by the pipeline, so a missing one gets a problem+json answer like any refusal.
    http: { requireHostHeader: false },
    frameworkErrors: (error, request, reply) => refuse(request, reply, toGatewayError(error)),
    clientErrorHandler: (error, socket) => {
      // Errors from Node's HTTP parser (malformed framing, CL with TE, oversize headers).
      if (socket.writable) socket.end(rawProblemResponse(toGatewayError(error.code === "HPE_HEADER_OVERFLOW" ? error : { code: "FST_ERR_BAD_URL" })));
      else socket.destroy(error);
    },
  });

  // Node keeps only the first 2,000 header lines and silently drops the rest, which would hide
  // a late second Authorization header from the count; the 16 KiB header limit bounds them anyway.
  app.server.maxHeadersCount = 0;
  // CONNECT never reaches Fastify (Node would close the socket without a word): answer it here.
  app.server.on("connect", (req: { url?: string }, socket: Socket) => {
    socket.end(rawProblemResponse(connectRefusal(req.url ?? "")));
  });
  function connectRefusal(target: string): GatewayError {
    try {
      const { segments } = guardTarget(target);
      tables.current.matcher.match("CONNECT", segments);
      return new RouteNotFoundError("no route matches this path");
    } catch (error) {
      return toGatewayError(error);
    }
  }

  app.decorateRequest("gateway", null as never);
  app.decorate("replaceRouteTable", (table: RouteTable) => {
    const previous = tables.current;
    tables.current = new ActiveRouteTable(table, previous);
    previous.retire(tables.current);
  });
  // The body is forwarded as received: no JSON parsing, just bytes up to the limit.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

  function refuse(request: FastifyRequest, reply: FastifyReply, error: GatewayError): FastifyReply {
    if (request.gateway) request.gateway.refusal = error.code;
    metrics.refuse(error.code);
    if (error instanceof InternalError) log.error({ reqId: request.id, err: error.cause }, "unexpected failure");
    reply.header("x-request-id", request.id);
    // A refusal sent before the body was read leaves the connection unusable for another request.
    if (!request.raw.complete) reply.header("connection", "close");
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
    const body = request.body as Buffer | undefined;
    const minter = identity && table.minters.get(route.name);
    const headers = upstreamHeaders(request.raw, {
      route, identity, requestId: request.id, claimHeaderNames: table.claimHeaderNames,
      mintedToken: minter?.mint(identity!, now()), bodyLength: body?.length,
    });
    if (identity) metrics.tokensAccepted += 1;
    const response = await table.upstreams.get(target.upstream)!.send(request.raw.method!, request.raw.url!, headers, body);
    reply.code(response.status).headers(response.headers).header("x-request-id", request.id);
    return reply.send(response.body);
  });

  async function serveOps(endpoint: "healthz" | "readyz" | "metrics", reply: FastifyReply) {
    reply.header("cache-control", "no-store");
    switch (endpoint) {
      case "healthz":
        return { status: "ok" };
      case "readyz": {
        const readiness = await checkReadiness(keys, [...tables.current.upstreams.values()]);
        if (readiness.ready) return { status: "ready", checks: readiness.checks };
        return reply
          .code(503)
          .header("content-type", "application/problem+json")
          .send(JSON.stringify({
            type: "urn:todo-gateway:problem:not-ready", title: "Not ready", status: 503,
            detail: `not ready: ${readiness.missing.join("; ")}`, checks: readiness.checks,
          }));
      }
      case "metrics":
        reply.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
        return metrics.render({ jwksKeys: keys.keyCount, tokenCacheEntries: verifier.cachedTokens, ready: keys.ready });
    }
  }

  app.addHook("onResponse", (request, reply, done) => {
    const context = request.gateway;
    const route = context?.match?.route.spec.name ?? "unmatched";
    const elapsedMs = reply.elapsedTime;
    metrics.observeRequest(route, reply.statusCode, elapsedMs / 1000);
    access({
      reqId: request.id, method: request.raw.method ?? "", route, status: reply.statusCode, ms: Math.round(elapsedMs * 100) / 100,
      sub: context?.identity?.sub, reason: context?.refusal,
    });
    done();
  });

  // Graceful shutdown: in-flight requests finish; connections are closed as soon as they go
  // idle instead of lingering for the keep-alive timeout, and late requests are told to reconnect.
  app.addHook("preClose", (done) => {
    drainState.draining = true;
    const closer = setInterval(() => app.server.closeIdleConnections(), 50);
    closer.unref();
    app.server.once("close", () => clearInterval(closer));
    done();
  });

  app.addHook("onClose", async () => {
    keys.close();
    await tables.current.close();
  });

  await keys.start();
  return app;
}
