import type { ServerResponse } from "node:http";
import { Pool, type Dispatcher } from "undici";
import { HOP_BY_HOP_RESPONSE_HEADERS, type UpstreamConfig } from "@todo-gateway/config";
import { ClientAbortedError, UpstreamBusyError, UpstreamTimeoutError, UpstreamUnavailableError, type GatewayError } from "../errors.ts";
import { connectionTokens } from "../pipeline/mutate.ts";

/**
 * Answers up to this size (by Content-Length) are read whole and sent in one write, which
 * costs less CPU than piping a stream; larger or unsized answers stream through.
 */
const BUFFERED_ANSWER_MAX_BYTES = 64 * 1024;

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Dispatcher.ResponseData["body"] | Buffer;
}

export interface UpstreamEvents {
  /** The upstream failed a request: refused, reset, silent past the deadline, saturated (never a client abort). */
  onFailure?(upstream: string, error: GatewayError): void;
}

/** Why a forwarded request was cut short; the abort reason undici rejects with. */
const DEADLINE = Symbol("deadline");
const CLIENT_GONE = Symbol("client gone");

/**
 * One named upstream: a keep-alive pool created at boot and closed with the app.
 *
 * `timeoutMs` is a deadline, not a phase timeout: it runs from the moment a request is handed
 * to the pool (queueing for a socket included) until the last byte of the answer has been
 * read, however the upstream trickles it (undici's own header and body timeouts start only
 * once a socket is assigned, and restart on every chunk). Requests waiting for a socket are
 * bounded by `maxQueue`: past it the gateway answers 503 at once instead of queueing.
 */
export class UpstreamPool {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly capacity: number;
  private inFlight = 0;

  constructor(readonly name: string, private readonly config: UpstreamConfig, private readonly events: UpstreamEvents = {}) {
    const url = new URL(config.url);
    this.basePath = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
    this.capacity = config.maxConnections + config.maxQueue;
    this.pool = new Pool(url.origin, {
      connections: config.maxConnections,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
      connectTimeout: Math.min(config.timeoutMs, 10_000),
    });
  }

  /** Whether this is the auth-service, the only upstream Better Auth's session cookies may reach. */
  get authService(): boolean {
    return this.config.authService;
  }

  /** Requests sent and not yet answered in full (sockets in use plus the queue). */
  get pending(): number {
    return this.inFlight;
  }

  /**
   * Sends the request target exactly as received and authorized; answers 502, 503 or 504
   * problems when the upstream refuses, is saturated or misses the deadline. `client` is the
   * caller's response: if the caller goes away first, the upstream request is abandoned too.
   */
  async send(method: string, target: string, headers: string[], body: Buffer | undefined, client: ServerResponse): Promise<UpstreamResponse> {
    if (this.inFlight >= this.capacity) {
      throw this.report(new UpstreamBusyError(`the ${this.name} upstream has ${this.inFlight} requests waiting; try again shortly`));
    }
    this.inFlight += 1;
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(DEADLINE), this.config.timeoutMs);
    const onClientClose = () => controller.abort(CLIENT_GONE);
    client.once("close", onClientClose);
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      this.inFlight -= 1;
      clearTimeout(deadline);
      client.off("close", onClientClose);
    };
    let response: Dispatcher.ResponseData;
    try {
      response = await this.pool.request({ method, path: this.basePath + target, headers, body, signal: controller.signal });
    } catch (error) {
      settle();
      throw this.report(this.classify(error));
    }
    if (response.statusCode < 100 || response.statusCode > 599) {
      settle();
      // dump(), not destroy(): a destroyed body emits an error nobody listens to, and crashes.
      void response.body.dump().catch(() => undefined);
      throw this.report(new UpstreamUnavailableError(`the ${this.name} upstream answered with an invalid status`));
    }
    const answerHeaders = passThroughHeaders(response.headers);
    const length = Number(response.headers["content-length"]);
    if (length <= BUFFERED_ANSWER_MAX_BYTES) {
      try {
        return { status: response.statusCode, headers: answerHeaders, body: Buffer.from(await response.body.arrayBuffer()) };
      } catch (error) {
        throw this.report(this.classify(error));
      } finally {
        settle();
      }
    }
    // Streamed through: the deadline keeps running until the body ends; if it fires, undici
    // destroys the body and the client's connection is closed mid-answer (nothing else is honest
    // once the status line is out).
    response.body.once("close", settle);
    response.body.once("error", (error) => this.report(this.classify(error)));
    return { status: response.statusCode, headers: answerHeaders, body: response.body };
  }

  /** True when the upstream answers anything at all within the deadline. */
  async answers(timeoutMs: number): Promise<boolean> {
    try {
      const { body } = await this.pool.request({
        method: "GET", path: this.basePath + "/", headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await body.dump();
      return true;
    } catch {
      return false;
    }
  }

  /** True when this pool already serves exactly these settings (a reload may keep it). */
  sameAs(settings: UpstreamConfig): boolean {
    return settings.url === this.config.url && settings.timeoutMs === this.config.timeoutMs &&
      settings.maxConnections === this.config.maxConnections && settings.maxQueue === this.config.maxQueue;
  }

  close(): Promise<void> {
    return this.pool.closed ? Promise.resolve() : this.pool.close();
  }

  /** Tells the events about an upstream failure (not a client that left) and returns it. */
  private report(error: GatewayError): GatewayError {
    if (!(error instanceof ClientAbortedError)) this.events.onFailure?.(this.name, error);
    return error;
  }

  /** One ladder from transport failures to our upstream errors, keeping the cause. */
  classify(error: unknown): GatewayError {
    if (error === CLIENT_GONE) return new ClientAbortedError("the client closed the connection before the answer");
    const code = (error as { code?: string } | null)?.code;
    const cause = { cause: error };
    if (error === DEADLINE || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || code === "UND_ERR_CONNECT_TIMEOUT") {
      return new UpstreamTimeoutError(`the ${this.name} upstream did not answer within ${this.config.timeoutMs} ms`, cause);
    }
    return new UpstreamUnavailableError(`the ${this.name} upstream could not be reached`, cause);
  }
}

function passThroughHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const listed = connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP_RESPONSE_HEADERS.has(name) || listed?.has(name)) continue;
    // The gateway alone answers for CORS; an upstream's own policy never reaches the browser.
    // The request id is the gateway's (the one it logged and sent upstream).
    if (name.startsWith("access-control-") || name === "x-request-id") continue;
    out[name] = value;
  }
  return out;
}
