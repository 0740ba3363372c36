import http from "node:http";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { createServiceLogger, requestIdFrom, type LegacyApiConfig } from "@todo-gateway/config";
import { HTTPException, RequestValidationError } from "./fastapi/exceptions.ts";
import { readRequestBody } from "./fastapi/request-body.ts";
import { redirect, sendAnswer, sendError } from "./fastapi/respond.ts";
import { Router, type Route } from "./fastapi/router.ts";
import { QueryParams, quoteLocation, splitTarget, unquote } from "./fastapi/url.ts";
import { taskRoutes } from "./tasks/routes.ts";
import { openTaskStore } from "./tasks/open-store.ts";
import type { TaskStore } from "./tasks/store.ts";

export interface BuildAppOptions {
  /**
   * Where tasks live. By default the store `config.store` names is opened here and closed with
   * the app; a store passed in stays the caller's to close.
   */
  readonly store?: TaskStore;
  /** Logging (to stderr) at `config.logLevel`; on by default, tests turn it off. */
  readonly logger?: boolean;
  /** Where log lines go instead of stderr (tests). */
  readonly logStream?: NodeJS.WritableStream;
}

/** Request bodies are small JSON documents; FastAPI itself has no limit (see README). */
const BODY_LIMIT_BYTES = 1024 * 1024;

// Every method Node parses, so that an unusual one still gets FastAPI's 405 or 404.
// CONNECT never reaches a request handler in Node.
const ALL_METHODS = http.METHODS.filter((method) => method !== "CONNECT");

// The one Fastify route; routing itself happens in src/fastapi/router.ts.
const DISPATCH_URL = "/";

/**
 * Builds the Spec 001 task API, answering as the public FastAPI implementations do, without
 * listening (server.ts listens). Throws `TaskStoreOpenError` when the configured task
 * database cannot be used.
 *
 * Starlette matches routes against the percent-decoded path and never refuses a bad escape;
 * find-my-way matches the raw path and answers 400 to a bad escape. So Fastify routes every
 * request to one dispatcher, which resolves it as Starlette would (the original target stays in
 * `request.originalUrl`), and Fastify parses no body: FastAPI reads one only for a route that
 * declares it, and decides by its own rules whether it is JSON.
 */
export async function buildApp(config: LegacyApiConfig, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  // The services' one log shape (config/src/logging.ts), on stderr: stdout carries only the
  // "listening" line. One line per request, under the id the gateway sent (X-Request-Id).
  const log = createServiceLogger("legacy-api", {
    level: options.logger === false ? "silent" : config.logLevel, format: config.logFormat, fd: 2, stream: options.logStream,
  });
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "reqId" }),
    genReqId: (req) => requestIdFrom(req.headers),
    rewriteUrl: () => DISPATCH_URL,
  });
  app.addHook("onResponse", (request, reply, done) => {
    request.log.info({ method: request.method, path: splitTarget(request.originalUrl).rawPath, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 }, "request");
    done();
  });

  const store = options.store ?? openTaskStore(config.store);
  if (!options.store) app.addHook("onClose", () => store.close());
  const router = new Router(taskRoutes(store));

  // close() only drops connections idle at that moment; one whose request was in flight would stay
  // open (keep-alive) until its client lets go, holding close() up. So answer those with close.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });

  for (const method of ALL_METHODS) app.addHttpMethod(method, { hasBody: false, overrideExisting: true });
  app.setErrorHandler((error, request, reply) => {
    // Refusals are part of the API; anything else is a bug worth a log line.
    if (!(error instanceof HTTPException || error instanceof RequestValidationError)) request.log.error({ err: error }, "request failed");
    return sendError(reply, error);
  });
  app.route({
    method: ALL_METHODS,
    url: DISPATCH_URL,
    handler: (request, reply) => dispatch(router, request, reply),
  });
  return app;
}

async function dispatch(router: Router<Route>, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const target = splitTarget(request.originalUrl);
  const resolution = router.resolve(request.method, unquote(target.rawPath));
  switch (resolution.kind) {
    case "not-found":
      throw new HTTPException(404);
    case "method-not-allowed":
      throw new HTTPException(405, undefined, { allow: resolution.allow });
    case "redirect":
      return sendAnswer(reply, redirect(redirectUrl(request, resolution.path, target.rawQuery)));
    case "found": {
      const { route, params } = resolution;
      request.log.debug({ route: route.name }, "route matched");
      const body = route.body ? await readRequestBody(request.raw, BODY_LIMIT_BYTES) : null;
      return sendAnswer(reply, await route.handle({ params, query: new QueryParams(target.rawQuery), body }));
    }
  }
}

/** The absolute URL Starlette puts in its slash redirect: scheme, the Host header, the decoded path. */
function redirectUrl(request: FastifyRequest, path: string, rawQuery: string): string {
  const { localAddress, localPort } = request.raw.socket;
  const host = request.headers.host ?? (localPort === 80 ? `${localAddress}` : `${localAddress}:${localPort}`);
  return quoteLocation(`http://${host}${path}${rawQuery ? `?${rawQuery}` : ""}`);
}
