import type { IncomingMessage, ServerResponse } from "node:http";
import { ClientAbortedError, OverloadedError, PayloadTooLargeError, RequestTimeoutError } from "../errors.ts";

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
 * Reads a request body completely (it is forwarded with one computed Content-Length), within
 * the size cap, the memory budget and the deadline. Node's parser has already refused
 * ambiguous framing, so `Content-Length` here is exact.
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
  if (declared !== undefined && !charge(declared)) {
    return Promise.reject(new OverloadedError("the gateway is receiving too many request bodies; try again shortly"));
  }

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (error: Error | undefined) => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("aborted", onAbort);
      if (error) {
        // Stop buffering; what is left is discarded as it arrives until the connection closes.
        chunks.length = 0;
        req.resume();
        reject(error);
      } else {
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
      }
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > options.maxBytes) return finish(new PayloadTooLargeError("the request body is larger than 1 MiB"));
      if (declared === undefined && !charge(chunk.length)) {
        return finish(new OverloadedError("the gateway is receiving too many request bodies; try again shortly"));
      }
      chunks.push(chunk);
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
