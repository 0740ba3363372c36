/**
 * Attack: blow the gateway up through its key source. A JWKS answer used to be read and
 * gunzipped whole before its size was checked: a 408 KB gzip bomb took the process to 1.3 GiB,
 * and any client can make it refetch by sending a token with an unknown `kid`. Now the JWKS is
 * asked for with `accept-encoding: identity`, any other encoding is refused without inflating
 * a byte, and the body is cut at its cap (512 KiB) while it is read. The keys already loaded
 * stay in use. Against the real process, its memory read from /proc.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningKey, type SigningKey } from "../helpers/keys.ts";
import { startGatewayProcess, waitFor } from "../helpers/process.ts";
import { AUDIENCE, ISSUER, mintToken } from "../helpers/tokens.ts";
import { RecordingUpstream } from "../helpers/upstream.ts";

type Mode = "good" | "gzip-bomb" | "endless" | "declared-huge";

let key: SigningKey;
let upstream: RecordingUpstream;
let server: Server;
let jwksUrl: string;
let mode: Mode = "good";
const acceptEncodings: (string | undefined)[] = [];
// 300 MB of whitespace inside a valid JWKS, gzipped to about 300 KB.
const bomb = gzipSync(Buffer.concat([Buffer.from('{"keys":['), Buffer.alloc(300 * 1024 * 1024, 0x20), Buffer.from("]}")]), { level: 9 });

beforeAll(async () => {
  key = await createSigningKey();
  upstream = await new RecordingUpstream().start();
  server = createServer((req, res) => {
    acceptEncodings.push(req.headers["accept-encoding"]);
    switch (mode) {
      case "good":
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [key.publicJwk] }));
        return;
      case "gzip-bomb":
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip", "content-length": String(bomb.length) }).end(bomb);
        return;
      case "declared-huge":
        res.writeHead(200, { "content-type": "application/json", "content-length": String(100 * 1024 * 1024) });
        res.write('{"keys":[');
        return; // and never more
      case "endless": {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"keys":[');
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once("drain", pump);
        };
        res.on("close", () => res.removeAllListeners("drain"));
        pump();
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await upstream.stop();
});

describe("a hostile JWKS", () => {
  it.each<[string, Mode]>([["a gzip bomb", "gzip-bomb"], ["an endless body", "endless"], ["a huge declared length", "declared-huge"]])(
    "is refused without holding it (%s); the keys already loaded keep verifying",
    async (_what, hostile) => {
      mode = "good";
      const gateway = startGatewayProcess({
        JWKS_URL: jwksUrl, LEGACY_API_URL: upstream.url, AUTH_SERVICE_URL: upstream.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, LOG_LEVEL: "warn",
      });
      try {
        const url = await gateway.listening;
        const now = Math.floor(Date.now() / 1000);
        const valid = await mintToken({ key, sub: "alice", iat: now });
        expect((await fetch(`${url}/api/alice/tasks`, { headers: { authorization: `Bearer ${valid}` } })).status).toBe(200);
        const before = gateway.rssMiB();

        mode = hostile;
        // Any client can force a refetch: a token whose kid the gateway does not know.
        const stranger = await createSigningKey("EdDSA", `unknown-${hostile}`);
        const forced = await fetch(`${url}/api/alice/tasks`, { headers: { authorization: `Bearer ${await mintToken({ key: stranger, sub: "alice", iat: now })}` } });
        expect(forced.status).toBe(401);
        await waitFor(() => gateway.output().stdout.includes("JWKS fetch failed"), 8_000, "the refused fetch to be logged");
        expect(gateway.rssMiB() - before).toBeLessThan(40);
        expect((await fetch(`${url}/api/alice/tasks`, { headers: { authorization: `Bearer ${valid}` } })).status).toBe(200);
        // One line per failure, its cause in words, no stack.
        const failure = gateway.output().stdout.split("\n").find((line) => line.includes("JWKS fetch failed"))!;
        expect(failure).not.toContain("stack");
        expect(acceptEncodings.at(-1)).toBe("identity");
      } finally {
        mode = "good";
        await gateway.stop();
      }
    },
    30_000,
  );
});
