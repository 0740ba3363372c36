import { createServer, type ServerResponse, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A revocation feed the test controls (the auth-service's `GET /internal/revocations`, in
 * shape: `{events, version}`, long-polled with `?version=&wait=`), for gateway tests that need
 * exact events, forged ones included. The real auth-service serves it in the e2e tests.
 */
export class FeedServer {
  events: string[] = [];
  up = true;
  polls = 0;
  private version = 0;
  private waiting = new Set<ServerResponse>();
  private server: Server | undefined;
  url = "";

  publish(...events: string[]): void {
    this.events.push(...events);
    this.version += 1;
    for (const res of this.waiting) this.answer(res);
    this.waiting.clear();
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.polls += 1;
      if (!this.up) {
        res.writeHead(503).end();
        return;
      }
      const asked = new URL(req.url!, "http://x").searchParams.get("version");
      if (asked === String(this.version)) {
        this.waiting.add(res);
        const timer = setTimeout(() => {
          this.waiting.delete(res);
          this.answer(res);
        }, 1_000);
        res.on("close", () => clearTimeout(timer));
        return;
      }
      this.answer(res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/internal/revocations`;
    return this;
  }

  private answer(res: ServerResponse): void {
    if (res.destroyed) return;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ events: this.events, version: String(this.version) }));
  }

  async stop(): Promise<void> {
    for (const res of this.waiting) res.destroy();
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}
