import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { requestIdFrom, type GatewayConfig, type RouteTable } from "@todo-gateway/config";
import { Revocations } from "./revocation/index.ts";
import { RouteTables } from "./active-route-table.ts";
import { KeyResolver } from "./auth/keys.ts";
import { TokenVerifier } from "./auth/verifier.ts";
import { clientErrorHandler, DrainState, guardConnections } from "./lifecycle.ts";
import { createLogger, DependencyWarnings, describeCause } from "./log.ts";
import { EventLoopMonitor } from "./ops/event-loop.ts";
import { clusterMetricsRenderer } from "./ops/cluster-metrics.ts";
import { Metrics } from "./ops/metrics.ts";
import { ReadinessProbe } from "./ops/readiness.ts";
import { Recorder } from "./ops/recorder.ts";
import { ClientAddresses } from "./pipeline/client-address.ts";
import { CorsPolicy } from "./pipeline/cors.ts";
import { RateLimiter } from "./pipeline/rate-limit.ts";
import { MemoryStore, RedisStore } from "./rate-limit/stores.ts";
import { RequestPipeline } from "./pipeline/index.ts";
import { ExpectationFailedError } from "./errors.ts";
import { toGatewayError } from "./respond.ts";
import { createTargets } from "./targets/index.ts";
import { createOpsTarget } from "./targets/ops.ts";
import { BodyBudget } from "./targets/request-body.ts";
import { StaticFiles } from "./targets/static-files.ts";
import { createUpstreamTarget } from "./targets/upstream.ts";

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
 * Builds the gateway for a validated configuration and never listens: wiring only. The order
 * of a request is pipeline/index.ts; long-lived parts (key resolver, token cache, upstream
 * pools) are created here once and closed with the app.
 */
export async function buildApp(config: GatewayConfig, deps: GatewayDeps = {}): Promise<FastifyInstance> {
  const now = deps.now ?? Date.now;
  const { log, access } = createLogger(deps.logger === false ? "silent" : config.logLevel, config.logFormat, deps.logStream);
  const warnings = new DependencyWarnings(log);
  const readiness = new ReadinessProbe();
  // Read at scrape time from the parts below (declared later, alive by then).
  const metrics = new Metrics(() => ({
    jwksKeys: keys.keyCount, tokenCacheEntries: verifier.cachedTokens, ready: keys.ready,
    bodyBytesHeld: bodyBudget.usedBytes, eventLoopLagMs: eventLoop.lastLagMs, revocations: revocations.status,
    rateLimitsShared: config.redisUrl === undefined ? undefined : rateLimitStore.shared,
    upstreams: [...tables.current.upstreams.values()].map((upstream) => ({ name: upstream.name, pending: upstream.pending, up: readiness.lastResult(upstream) })),
  }), { countsInRedis: config.redisUrl !== undefined });
  const recorder = new Recorder(metrics, access, log);
  const keys = new KeyResolver({
    jwksUrl: config.jwt.jwksUrl, hmacSecret: config.jwt.hmacSecret, algorithms: config.jwt.algorithms,
    unknownKidCooldownMs: deps.unknownKidCooldownMs, minRefreshMs: deps.minJwksRefreshMs,
    events: {
      onFetch: (result, { error }) => {
        recorder.jwksFetch(result);
        if (result === "failure") warnings.warn("jwks", `JWKS fetch failed (${describeCause(error)}); verifying with the ${keys.keyCount} keys already loaded`, { jwksUrl: config.jwt.jwksUrl });
      },
    },
  });
  const verifier = new TokenVerifier({ jwt: config.jwt, keys, now });
  const revocations = new Revocations(config.revocation, keys, {
    issuer: config.jwt.issuer, clockToleranceS: config.jwt.clockToleranceS, now,
    events: {
      onRefusedEvent: (reason) => warnings.warn("revocation-event", `revocation event ignored: ${reason}`),
      onSourceFailure: (error) => warnings.warn("revocation-source", `revocation source failed (${describeCause(error)}); ${config.revocation.source === "off" ? "" : config.revocation.failMode === "closed" ? "protected routes answer 503 until it is back" : "serving with the revocations already known"}`),
      onUnreachableAtStart: (source, error) => {
        process.stderr.write(`gateway: revocation source ${source} unreachable at start (${describeCause(error)}); retrying, /readyz reports revocations: missing\n`);
      },
    },
  });
  const tables = new RouteTables(config.routeTable, config.rateLimits, {
    onFailure: (upstream, error) => warnings.warn(`upstream:${upstream}`, `${error.detail} (${describeCause(error.cause ?? error.code)})`, { upstream, reason: error.code }),
  });
  const drain = new DrainState();
  // Counted in Redis when it is configured (shared by workers and instances), else in memory.
  const rateLimitStore = config.redisUrl === undefined
    ? new MemoryStore()
    : new RedisStore(config.redisUrl, (error) => warnings.warn("rate-limit-store", `rate limits counted in this process only: Redis failed (${describeCause(error)})`));
  const eventLoop = new EventLoopMonitor(config.limits.maxEventLoopDelayMs);
  const bodyBudget = new BodyBudget(config.limits.bodyMemoryBytes);
  const targets = createTargets({
    upstream: createUpstreamTarget({ bodies: { budget: bodyBudget, maxBytes: config.bodyLimitBytes, timeoutMs: config.limits.requestTimeoutMs }, now }),
    ops: createOpsTarget({
      tables, keys, renderMetrics: clusterMetricsRenderer(metrics), readiness, eventLoop, revocations,
      rateLimitsShared: () => (config.redisUrl === undefined ? undefined : rateLimitStore.shared),
    }),
    webClient: new StaticFiles(config.webClientDir),
  });
  const pipeline = new RequestPipeline({
    tables, verifier, revocations, targets, recorder, drain, eventLoop, cors: new CorsPolicy(config.corsOrigins),
    clients: new ClientAddresses(config.trustedProxies), rateLimiter: new RateLimiter(rateLimitStore),
    maxHeaderCount: config.limits.maxHeaderCount, maxTokenBytes: config.jwt.maxTokenBytes,
  });

  const app = Fastify({
    // One shared logger and no per-request child: the pipeline's recorder writes the one line.
    loggerInstance: log as FastifyBaseLogger,
    childLoggerFactory: (logger) => logger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => requestIdFrom(req.headers),
    exposeHeadRoutes: false,
    // Node's own idle timeout (Fastify's default is 72 s): a parked keep-alive connection holds a slot 5 s at most.
    keepAliveTimeout: 5_000,
    trustProxy: false,
    // Draining, Host and body limits are the pipeline's: answered as problem+json like any refusal.
    return503OnClosing: false,
    // A backstop only: the body reader answers 408 REQUEST_TIMEOUT_MS after it starts reading. Node checks header and
    // request deadlines on connectionsCheckingInterval (its default is 30 s).
    requestTimeout: config.limits.requestTimeoutMs + 5_000,
    http: { requireHostHeader: false, connectionsCheckingInterval: 1_000 },
    frameworkErrors: (error, request, reply) => reject(request, reply, error),
    clientErrorHandler: clientErrorHandler({ onClientError: (error) => recorder.connectionRefusal(error) }),
  });
  guardConnections(
    app.server,
    {
      maxConnections: config.limits.maxConnections,
      maxConnectionsPerAddress: config.limits.maxConnectionsPerAddress,
      // One more than the cap, so the pipeline can see that the cap was passed (and answer 431).
      maxHeadersCount: config.limits.maxHeaderCount + 1,
      headersTimeoutMs: config.limits.headersTimeoutMs,
      requestTimeoutMs: config.limits.requestTimeoutMs + 5_000,
    },
    (target) => pipeline.refuseConnect(target),
    {
      onConnectionDropped: () => recorder.connectionDropped(),
      onExpectContinue: (req, res) => app.server.emit("request", req, res),
      onUnmetExpectation: (req, res) => pipeline.reject(req, res, requestIdFrom(req.headers), new ExpectationFailedError("only Expect: 100-continue is understood")),
    },
  );

  function handle(request: FastifyRequest, reply: FastifyReply): void {
    reply.hijack();
    pipeline.handle(request.raw, reply.raw, request.id);
  }
  function reject(request: FastifyRequest, reply: FastifyReply, error: unknown): void {
    reply.hijack();
    pipeline.reject(request.raw, reply.raw, request.id, toGatewayError(error));
  }
  // Bodies are read by the upstream target (bounded, after authorization), never by Fastify.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _payload, done) => done(null, undefined));
  app.all("/*", handle);
  // Methods Fastify does not route (PROPFIND, ...) get the same pipeline: 405 or 404.
  app.setNotFoundHandler(handle);
  app.setErrorHandler((error, request, reply) => reject(request, reply, error));
  app.decorate("replaceRouteTable", (table: RouteTable) => tables.replace(table));

  // Shutdown: in-flight requests finish, idle connections close now, late requests get 503.
  app.addHook("preClose", (done) => {
    drain.begin(app.server);
    done();
  });
  app.addHook("onClose", async () => {
    keys.close();
    eventLoop.stop();
    await Promise.all([tables.close(), revocations.close(), rateLimitStore.close()]);
  });

  eventLoop.start();
  await keys.start();
  // After the keys (events are verified with them): a gateway starts with the current record.
  await revocations.start();
  return app;
}
