import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { isIP, type AddressInfo } from "node:net";
import { getMigrations } from "better-auth/db/migration";
import { REVOCATION_FEED_PATH, requestIdFrom, type AuthServiceConfig } from "@todo-gateway/config";
import { createAuth, CLIENT_IP_HEADER, type Auth } from "./auth.ts";
import { openDatabase, type AuthDatabase } from "./database.ts";
import type { KeyRing } from "./keyring.ts";
import { createLogger, type Logger } from "./log.ts";
import { runWithRequestState, type RequestState } from "./request-context.ts";
import { sendJson } from "./respond.ts";
import { loggingRevocationHook, type RevocationHook, type Revocations } from "./revocation/index.ts";
import { resolveSecret, type ResolvedSecret } from "./secret.ts";

/** Largest request body accepted; sign-up / sign-in bodies are a few hundred bytes. */
export const BODY_LIMIT_BYTES = 64 * 1024;
const AUTH_PREFIX = "/api/auth/";
const JWKS_PATH = "/api/auth/jwks";

export interface BuildAppOptions {
  /** The secret; default: `config.secret`, else the development file / a test-only random one. */
  readonly secret?: string;
  /** Called after each revocation event is written to the outbox; default: log it. */
  readonly onRevocation?: RevocationHook;
  /** The clock of key rotation and revocation events (ms since the epoch); default `Date.now`. */
  readonly now?: () => number;
  /** How often the revocation feed re-reads the outbox while requests wait (default 500 ms). */
  readonly feedRecheckMs?: number;
  /** How many feed requests may wait at once (default 1000). */
  readonly feedMaxWaiters?: number;
  readonly logger?: Logger;
}

export interface AuthServiceApp {
  readonly config: AuthServiceConfig;
  readonly auth: Auth;
  readonly keyring: KeyRing;
  readonly database: AuthDatabase;
  /** The revocation outbox, its feed and (with `REDIS_URL`) its relay. */
  readonly revocations: Revocations;
  readonly server: Server;
  readonly secret: ResolvedSecret;
  readonly log: Logger;
  /** `Cache-Control` max-age of the JWKS, in seconds. */
  readonly jwksMaxAgeS: number;
  /** Creates or migrates the schema (idempotent) and makes sure a signing key exists. */
  migrate(): Promise<void>;
  /** Migrates if not done yet, then listens; resolves to the bound URL. */
  listen(options: { host: string; port: number }): Promise<string>;
  /** Stops accepting, lets in-flight requests finish, closes the database. Idempotent. */
  close(): Promise<void>;
}

/**
 * JWKS caching that fits the publish-ahead lead time: a cache that honours max-age refetches
 * at least twice within the lead time, so it holds a key before any token carries its kid.
 */
export function jwksMaxAge(config: AuthServiceConfig): number {
  return Math.min(Math.floor(config.jwt.rotationLeadS / 2), 3600);
}

/** Builds the service (Better Auth on node:http). Never listens by itself. */
export async function buildApp(config: AuthServiceConfig, options: BuildAppOptions = {}): Promise<AuthServiceApp> {
  const log = options.logger ?? createLogger(config.logLevel, config.logFormat);
  const secret: ResolvedSecret = options.secret !== undefined ? { value: options.secret, source: "environment" } : resolveSecret(config);
  const database = openDatabase(config.database, {
    onIdleError: (error) => log.warn({ err: error }, "database connection lost; it will reconnect on the next request"),
  });
  const { auth, keyring, revocations } = createAuth({
    config,
    database,
    secret: secret.value,
    log,
    onRevocation: options.onRevocation ?? loggingRevocationHook(log),
    now: options.now,
    feedRecheckMs: options.feedRecheckMs,
    feedMaxWaiters: options.feedMaxWaiters,
  });
  const maxAge = jwksMaxAge(config);

  const handle = async (req: IncomingMessage, res: ServerResponse, state: RequestState): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      return sendJson(res, 200, { status: "ok" });
    }
    // Outside /api/auth: the gateway routes clients only there, so none can reach the feed.
    if (path === REVOCATION_FEED_PATH) return revocations.feed.handle(req, res);
    if (!path.startsWith(AUTH_PREFIX)) return sendJson(res, 404, { code: "NOT_FOUND", message: "Not Found" });

    const body = await readBody(req, BODY_LIMIT_BYTES);
    if (body === "too-large") return sendJson(res, 413, { code: "PAYLOAD_TOO_LARGE", message: `Request body over ${BODY_LIMIT_BYTES} bytes` });

    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || name === CLIENT_IP_HEADER) continue;
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else headers.set(name, value);
    }
    const clientIp = realClientIp(req);
    if (clientIp !== undefined) headers.set(CLIENT_IP_HEADER, clientIp);

    const url = new URL(req.url ?? "/", config.baseUrl);
    const hasBody = req.method !== "GET" && req.method !== "HEAD" && body.length > 0;
    const request = new Request(url, { method: req.method, headers, body: hasBody ? new Uint8Array(body) : undefined });
    const response = await auth.handler(request);
    if (state.internalError && response.status === 401) {
      await response.body?.cancel();
      log.warn({ method: req.method, path }, "session lookup failed inside Better Auth; answering 503");
      return sendJson(res, 503, { code: "SERVICE_UNAVAILABLE", message: "The service could not complete the request; try again" });
    }

    if (response.status >= 500) {
      // Better Auth answers an internal failure (a lost database, say) with an empty 500; give
      // the client JSON and no details, keep the details for the log (Better Auth logged them).
      await response.body?.cancel();
      log.warn({ method: req.method, path, status: response.status }, "request failed inside Better Auth");
      return sendJson(res, response.status === 503 ? 503 : 500, { code: "INTERNAL_SERVER_ERROR", message: "The service could not complete the request; try again" });
    }
    if (path === JWKS_PATH && response.status === 200) response.headers.set("cache-control", `public, max-age=${maxAge}`);
    await writeResponse(res, response, req.method === "HEAD");
  };

  const server = createServer((req, res) => {
    // The gateway's request id, so this service's lines for a request sit beside the gateway's.
    const reqId = requestIdFrom(req.headers);
    const started = performance.now();
    const path = (req.url ?? "").split("?")[0];
    res.once("close", () => {
      log.info({ reqId, method: req.method, path, status: res.writableFinished ? res.statusCode : 499, ms: Math.round((performance.now() - started) * 100) / 100 }, "request");
    });
    runWithRequestState(reqId, (state) => handle(req, res, state)).catch((error: unknown) => {
      log.error({ reqId, method: req.method, path, err: error }, "request failed");
      if (!res.headersSent) sendJson(res, 500, { code: "INTERNAL_SERVER_ERROR", message: "Internal Server Error" });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;

  let migrated: Promise<void> | undefined;
  const migrate = () => {
    migrated ??= (async () => {
      const migrations = await getMigrations(auth.options);
      await migrations.runMigrations();
      // The first key exists before anything can fetch the JWKS, and it can sign with this secret.
      const context = await auth.$context;
      await keyring.sync({ context });
      await keyring.checkSigningKey({ context });
    })().catch((error: unknown) => {
      migrated = undefined;
      throw error;
    });
    return migrated;
  };

  let closing: Promise<void> | undefined;
  let rotationTimer: NodeJS.Timeout | undefined;
  const app: AuthServiceApp = {
    config,
    auth,
    keyring,
    database,
    revocations,
    server,
    secret,
    log,
    jwksMaxAgeS: maxAge,
    migrate,
    async listen({ host, port }) {
      await migrate();
      revocations.start();
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error) => reject(error);
        server.once("error", onError);
        server.listen(port, host, () => {
          server.off("error", onError);
          resolve();
        });
      });
      if (config.jwt.rotationIntervalS > 0) {
        // Mint successors on time even when nothing signs or fetches the JWKS for a while.
        const everyMs = Math.min(Math.max(Math.floor((config.jwt.rotationLeadS * 1000) / 2), 1000), 60_000);
        rotationTimer = setInterval(() => {
          void auth.$context
            .then((context) => keyring.sync({ context }))
            .catch((error: unknown) => log.warn({ err: error }, "key rotation check failed; retrying"));
        }, everyMs);
        rotationTimer.unref();
      }
      const address = server.address() as AddressInfo;
      const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
      return `http://${shownHost}:${address.port}`;
    },
    close() {
      closing ??= (async () => {
        if (rotationTimer !== undefined) clearInterval(rotationTimer);
        // Long-polls are answered now, so they do not hold the shutdown for up to 30 s.
        revocations.feed.close();
        if (server.listening) {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          // In-flight requests finish; idle keep-alive sockets are closed now, not after their timeout.
          server.closeIdleConnections();
          await closed;
        }
        await revocations.close();
        await database.close();
      })();
      return closing;
    },
  };
  return app;
}

/**
 * The real client. The gateway sends the address it resolved in `X-Real-IP` (the socket's peer,
 * or the client behind a load balancer it trusts, TRUSTED_PROXIES) and scrubs every client
 * copy; without it, the LAST `X-Forwarded-For` entry (the address the gateway appends; entries
 * before it are whatever the client sent); without either (a direct call), the socket address.
 */
export function realClientIp(req: IncomingMessage): string | undefined {
  const resolved = req.headers["x-real-ip"];
  if (typeof resolved === "string" && isIP(resolved.trim()) !== 0) return resolved.trim();
  const forwarded = req.headers["x-forwarded-for"];
  const joined = Array.isArray(forwarded) ? forwarded.join(",") : forwarded;
  if (joined !== undefined) {
    const last = joined.split(",").map((part) => part.trim()).filter(Boolean).at(-1);
    if (last !== undefined) return last;
  }
  return req.socket.remoteAddress;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too-large"> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return "too-large";
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return "too-large";
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function writeResponse(res: ServerResponse, response: Response, head: boolean): Promise<void> {
  const setCookies = response.headers.getSetCookie();
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  if (setCookies.length > 0) headers["set-cookie"] = setCookies;
  const body = head || response.body === null ? undefined : Buffer.from(await response.arrayBuffer());
  if (body !== undefined) headers["content-length"] = String(body.length);
  res.writeHead(response.status, headers);
  res.end(body);
}
