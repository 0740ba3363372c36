import type { IncomingMessage, ServerResponse } from "node:http";
import { BadRequestError, ClientAbortedError, OverloadedError, PayloadTooLargeError, RequestTimeoutError } from "../errors.ts";

/**
 * The memory all request bodies held at once may take (`BODY_MEMORY_LIMIT_MB`). A body is
 * charged when its bytes are accepted (all of a declared `Content-Length` up front) and
 * released when its request's answer is over, so N slow uploads cost at most the budget, not
 * N × 1 MiB (HAProxy's `tune.bufsize` × `maxconn`, Envoy's overload manager, in one number).
 */
export class BodyBudget {
  private used = 0;

  constructor(readonly limitBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}

export interface BodyReaderOptions {
  readonly budget: BodyBudget;
  /** Largest body accepted (1 MiB); larger gets 413. */
  readonly maxBytes: number;
  /** The body must have arrived this long after reading starts (`REQUEST_TIMEOUT_MS`); else 408. */
  readonly timeoutMs: number;
}

/** Whether the request carries a body the gateway forwards (never for GET or HEAD). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.method === "GET" || req.method === "HEAD") return false;
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * A body may arrive in at most this many pieces. Each costs parsing and an event whatever its
 * size, so a body sent as a million 1-byte chunks is refused (400) long before it is read; a
 * real client's 1 MiB comes in well under a thousand.
 */
const MAX_BODY_PIECES = 4096;
/** The first allocation for a body of unknown length (chunked); it doubles as needed. */
const INITIAL_CHUNKED_CAPACITY = 16 * 1024;

/**
 * Reads a request body completely (it is forwarded with one computed Content-Length), within
 * the size cap, the memory budget, the piece count and the deadline. Node's parser has already
 * refused ambiguous framing, so `Content-Length` here is exact. Bytes are copied into one
 * buffer as they come (never kept as slices, which would hold the socket's read buffers), and
 * what that buffer takes is what the budget is charged.
 */
export function readBody(req: IncomingMessage, res: ServerResponse, options: BodyReaderOptions): Promise<Buffer> {
  const declared = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
  if (declared !== undefined && declared > options.maxBytes) {
    return Promise.reject(new PayloadTooLargeError("the request body is larger than 1 MiB"));
  }
  let charged = 0;
  const charge = (bytes: number): boolean => {
    if (!options.budget.tryReserve(bytes)) return false;
    charged += bytes;
    return true;
  };
  // Released once the answer is over (sent, failed or abandoned), not when the body has been
  // read: until then the bytes are still held, waiting for or in an upstream socket.
  res.once("close", () => options.budget.release(charged));
  const overloaded = () => new OverloadedError("the gateway is receiving too many request bodies; try again shortly");
  if (declared !== undefined && !charge(declared)) return Promise.reject(overloaded());

  // The client waits for this before it sends the body: only now that the request is authorized.
  if (req.headers.expect !== undefined && !res.headersSent) res.writeContinue();
  return new Promise((resolve, reject) => {
    let buffer = Buffer.allocUnsafe(declared ?? Math.min(INITIAL_CHUNKED_CAPACITY, options.maxBytes));
    if (declared === undefined && !charge(buffer.length)) {
      reject(overloaded());
      return;
    }
    let received = 0;
    let pieces = 0;
    const finish = (error: Error | undefined) => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("aborted", onAbort);
      if (error) {
        // Stop keeping anything; what is left is discarded as it arrives until the connection closes.
        req.resume();
        reject(error);
      } else {
        resolve(received === buffer.length ? buffer : buffer.subarray(0, received));
      }
    };
    const onData = (chunk: Buffer) => {
      pieces += 1;
      if (pieces > MAX_BODY_PIECES) return finish(new BadRequestError(`the request body arrives in more than ${MAX_BODY_PIECES} pieces`));
      if (received + chunk.length > options.maxBytes) return finish(new PayloadTooLargeError("the request body is larger than 1 MiB"));
      if (received + chunk.length > buffer.length) {
        // Only a chunked body grows (a Content-Length one was allocated whole, and llhttp keeps it to that length).
        const capacity = Math.min(Math.max(buffer.length * 2, received + chunk.length), options.maxBytes);
        if (!charge(capacity - buffer.length)) return finish(overloaded());
        const grown = Buffer.allocUnsafe(capacity);
        buffer.copy(grown, 0, 0, received);
        buffer = grown;
      }
      chunk.copy(buffer, received);
      received += chunk.length;
    };
    const onEnd = () => finish(undefined);
    const onAbort = () => finish(new ClientAbortedError("the client closed the connection while sending the body"));
    const timer = setTimeout(() => finish(new RequestTimeoutError("the request body did not arrive in time")), options.timeoutMs);
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onAbort);
    req.once("aborted", onAbort);
  });
}
