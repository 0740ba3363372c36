import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { jwtVerify } from "jose";

/**
 * A stand-in for the many public Spec 001 services that verify tokens themselves: HS256 with a
 * shared secret, `exp` required, any `aud` refused, identity from `sub`. It owns the path check
 * (`sub` must equal `{user_id}`), then serves the request from the real legacy API behind it.
 */
export class Hs256VerifyingUpstream {
  accepted = 0;
  rejected: string[] = [];
  /** The claims of the last token it accepted. */
  lastPayload: Record<string, unknown> | undefined;
  private server: Server | undefined;
  url = "";

  constructor(private readonly secret: string, private readonly legacyUrl: string) {}

  async start(): Promise<this> {
    const key = new TextEncoder().encode(this.secret);
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      let sub: string;
      try {
        if (!token) throw new Error("no bearer token");
        const { payload } = await jwtVerify(token, key, { algorithms: ["HS256"], requiredClaims: ["exp", "sub"] });
        if (payload.aud !== undefined) throw new Error("tokens with aud are not for us");
        sub = payload.sub!;
        this.lastPayload = payload;
      } catch (error) {
        this.rejected.push((error as Error).message);
        res.writeHead(401, { "content-type": "application/json" }).end('{"detail":"Invalid token"}');
        return;
      }
      const userId = decodeURIComponent(req.url!.split("/")[2] ?? "");
      if (userId !== sub) {
        res.writeHead(403, { "content-type": "application/json" }).end('{"detail":"Forbidden"}');
        return;
      }
      this.accepted += 1;
      const body = Buffer.concat(chunks);
      const upstream = await fetch(`${this.legacyUrl}${req.url}`, {
        method: req.method, headers: { "content-type": req.headers["content-type"] ?? "application/json" },
        body: body.length > 0 ? body : undefined,
      });
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}
