import { request } from "node:http";

export interface ClientResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface ClientOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** The source address to connect from (127.0.0.2, 127.0.0.3, ...: each one a different client). */
  readonly localAddress?: string;
  /** Gives up (rejects) after this long; no request in a test waits without a deadline. */
  readonly timeoutMs?: number;
}

/**
 * One request on a connection of its own (no keep-alive agent): each request is a new TCP
 * connection, so the cluster's round-robin and a load balancer spread them, and a test can pick
 * the source address a server sees. Rejects on any transport failure (reset, refused, timeout).
 */
export function httpRequest(url: string, { method = "GET", headers = {}, localAddress, timeoutMs = 5_000 }: ClientOptions = {}): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false, ...(localAddress !== undefined && { localAddress }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** The value of a single-valued response header, or `undefined`. */
export function header(response: ClientResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(", ") : value;
}
