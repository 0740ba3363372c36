import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import { ClientAbortedError, type GatewayError } from "./errors.ts";
import { rawProblemResponse, toGatewayError } from "./respond.ts";

/**
 * The connection's life outside Fastify's request handling: CONNECT, the HTTP parser's errors,
 * limits on connections, and draining for shutdown. Node hands these sockets over without
 * its own `error` listener or timeout, so each one gets both here: no packet a client sends
 * can end the process, and no socket outlives {@link RAW_SOCKET_TIMEOUT_MS} once answered.
 */
const RAW_SOCKET_TIMEOUT_MS = 5_000;

export interface ConnectionEvents {
  /** A client error (parse error, RST, timeout) on a connection, by the gateway error it maps to. */
  onClientError?(error: GatewayError, answered: boolean): void;
  /** A connection closed on accept because `MAX_CONNECTIONS` were open. */
  onConnectionDropped?(): void;
}

export interface ConnectionLimits {
  readonly maxConnections: number;
  /** Node keeps this many header lines; the guard refuses a request that reaches it. */
  readonly maxHeadersCount: number;
  readonly headersTimeoutMs: number;
  /** Node's backstop for a request that never completes; the body reader answers 408 before it. */
  readonly requestTimeoutMs: number;
}

/** What Node leaves on a socket while a response is attached to it (not in its public types). */
type HttpSocket = Socket & { _httpMessage?: { writableFinished?: boolean } | null };

/** Sends a complete raw answer and closes; a peer that never reads it is cut off after the timeout. */
function answerAndClose(socket: Socket, error: GatewayError): void {
  socket.setTimeout(RAW_SOCKET_TIMEOUT_MS, () => socket.destroy());
  if (socket.writable) socket.end(rawProblemResponse(error));
  else socket.destroy();
}

/** Installs the connection-level guards on the gateway's HTTP server. */
export function guardConnections(server: Server, limits: ConnectionLimits, answerConnect: (target: string) => GatewayError, events: ConnectionEvents = {}): void {
  server.maxConnections = limits.maxConnections;
  server.maxHeadersCount = limits.maxHeadersCount;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.on("drop", () => events.onConnectionDropped?.());
  // Accept errors (EMFILE, ...) are the server's, not a client's: never fatal.
  server.on("error", () => undefined);

  // CONNECT never reaches Fastify: Node emits it with the socket stripped of its error listener.
  server.on("connect", (req: IncomingMessage, socket: Socket) => {
    socket.on("error", () => socket.destroy());
    answerAndClose(socket, answerConnect(req.url ?? ""));
  });

}

/**
 * Fastify's `clientErrorHandler`: parse errors, oversize headers, header timeouts, resets.
 * Node has already added a no-op error listener; what is left is to answer without writing
 * into an answer in flight (a pipelined request's), which would corrupt it.
 */
export function clientErrorHandler(events: ConnectionEvents = {}) {
  return (error: NodeJS.ErrnoException, socket: HttpSocket): void => {
    const gatewayError = toGatewayError(error.code === "HPE_HEADER_OVERFLOW" || error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? error : { code: "FST_ERR_BAD_URL" });
    const inFlight = socket._httpMessage !== undefined && socket._httpMessage !== null && socket._httpMessage.writableFinished !== true;
    // ECONNRESET / EPIPE: the peer is gone, nobody to answer.
    const peerGone = error.code === "ECONNRESET" || error.code === "EPIPE" || !socket.writable;
    if (inFlight || peerGone) {
      socket.destroy();
      events.onClientError?.(peerGone ? new ClientAbortedError("the client reset the connection") : gatewayError, false);
      return;
    }
    answerAndClose(socket, gatewayError);
    events.onClientError?.(gatewayError, true);
  };
}

/** Draining for shutdown: set once, read by the pipeline (new requests get 503 + close). */
export class DrainState {
  private drainingSince: number | undefined;

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Stops keep-alive reuse: idle connections are closed now and every 50 ms until the server closes. */
  begin(server: Server): void {
    if (this.drainingSince !== undefined) return;
    this.drainingSince = Date.now();
    server.closeIdleConnections();
    const closer = setInterval(() => server.closeIdleConnections(), 50);
    closer.unref();
    server.once("close", () => clearInterval(closer));
  }
}
