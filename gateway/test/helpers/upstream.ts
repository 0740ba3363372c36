import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: string;
}

/**
 * A loopback upstream that records exactly what reached it, for tests about what the gateway
 * forwards (headers, target bytes, body). End-to-end tests use the real legacy API stub.
 */
export class RecordingUpstream {
  readonly requests: RecordedRequest[] = [];
  /** Milliseconds to wait before answering (for timeout tests). */
  delayMs = 0;
  status = 200;
  /** Extra headers every answer carries. */
  responseHeaders: Record<string, string> = {};
  /** The answer body; by default a JSON echo of the method and target. */
  responseBody: string | undefined;
  /** Answer without Content-Length (chunked). */
  chunked = false;
  private server: Server | undefined;
  url = "";

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const recorded = {
          method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders,
          body: Buffer.concat(chunks).toString("utf8"),
        };
        this.requests.push(recorded);
        const answer = () => {
          if (res.destroyed) return;
          const body = this.responseBody ?? JSON.stringify({ received: { method: recorded.method, url: recorded.url } });
          const length = this.chunked ? {} : { "content-length": String(Buffer.byteLength(body)) };
          res.writeHead(this.status, { "content-type": "application/json", "x-upstream": "recording", ...length, ...this.responseHeaders });
          res.end(body);
        };
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get last(): RecordedRequest | undefined {
    return this.requests[this.requests.length - 1];
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}
