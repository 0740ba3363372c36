import type { IncomingMessage, Server, ServerResponse } from "node:http";
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
  /** `Expect` other than 100-continue: answered 417 without running the request. */
  onUnmetExpectation?(req: IncomingMessage, res: ServerResponse): void;
  /** `Expect: 100-continue`: run as any request; the body reader sends 100 Continue when it starts reading. */
  onExpectContinue?(req: IncomingMessage, res: ServerResponse): void;
  /** A client error (parse error, RST, timeout) on a connection, by the gateway error it maps to. */
  onClientError?(error: GatewayError, answered: boolean): void;
  /** A connection closed on accept because `MAX_CONNECTIONS` were open. */
  onConnectionDropped?(): void;
}

export interface ConnectionLimits {
  readonly maxConnections: number;
  /** Connections one client address may hold open (0 = no limit). */
  readonly maxConnectionsPerAddress: number;
  /** Node keeps this many header lines; the pipeline (admit) refuses a request that reaches it. */
  readonly maxHeadersCount: number;
  readonly headersTimeoutMs: number;
  /** Node's backstop for a request that never completes (it closes without an answer); the body reader answers 408 first. */
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
  server.maxHeadersCount = limits.maxHeadersCount;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  // Accept errors (EMFILE, ...) are the server's, not a client's: never fatal.
  server.on("error", () => undefined);
  limitConnections(server, limits, events);

  // CONNECT never reaches Fastify: Node emits it with the socket stripped of its error listener.
  server.on("connect", (req: IncomingMessage, socket: HttpSocket) => {
    socket.on("error", () => socket.destroy());
    // Pipelined behind an answer still in flight, a raw answer would be read as that answer's.
    if (inFlight(socket)) return void socket.destroy();
    answerAndClose(socket, answerConnect(req.url ?? ""));
  });

  // Without these listeners Node answers `Expect` itself: a bare 417, or 100 Continue before
  // the request was even authorized.
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => events.onUnmetExpectation?.(req, res));
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => events.onExpectContinue?.(req, res));
}

/**
 * `MAX_CONNECTIONS` in all and `MAX_CONNECTIONS_PER_ADDRESS` per client address; past either,
 * the new connection is closed at once (and counted). At the overall cap, idle keep-alive
 * connections are closed too (at most once a second), so a client that parks connections
 * cannot keep everyone else out for longer than it takes to reconnect.
 */
function limitConnections(server: Server, limits: ConnectionLimits, events: ConnectionEvents): void {
  let open = 0;
  let lastIdleSweep = 0;
  const perAddress = new Map<string, number>();
  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "";
    const mine = (perAddress.get(address) ?? 0) + 1;
    open += 1;
    perAddress.set(address, mine);
    socket.once("close", () => {
      open -= 1;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left === 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
    const overAddress = limits.maxConnectionsPerAddress > 0 && mine > limits.maxConnectionsPerAddress;
    const overAll = open > limits.maxConnections;
    if (!overAddress && !overAll) return;
    if (overAll && Date.now() - lastIdleSweep >= 1_000) {
      lastIdleSweep = Date.now();
      server.closeIdleConnections();
    }
    events.onConnectionDropped?.();
    socket.destroy();
  });
}

function inFlight(socket: HttpSocket): boolean {
  return socket._httpMessage !== undefined && socket._httpMessage !== null && socket._httpMessage.writableFinished !== true;
}

/**
 * Fastify's `clientErrorHandler`: parse errors, oversize headers, header timeouts, resets.
 * Node has already added a no-op error listener; what is left is to answer without writing
 * into an answer in flight (a pipelined request's), which would corrupt it.
 */
export function clientErrorHandler(events: ConnectionEvents = {}) {
  return (error: NodeJS.ErrnoException, socket: HttpSocket): void => {
    const gatewayError = toGatewayError(error.code === "HPE_HEADER_OVERFLOW" || error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? error : { code: "FST_ERR_BAD_URL" });
    // ECONNRESET / EPIPE: the peer is gone, nobody to answer.
    const peerGone = error.code === "ECONNRESET" || error.code === "EPIPE" || !socket.writable;
    if (inFlight(socket) || peerGone) {
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
