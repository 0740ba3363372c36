import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from "jose";

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

let counter = 0;

/** A fresh key pair with its public JWK, named by a unique kid. */
export async function createSigningKey(alg = "EdDSA", kid = `kid-${++counter}-${alg}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, publicJwk };
}

/**
 * A real JWKS endpoint on loopback that a test can change, take down and count. It stands in
 * for the auth-service where a test needs to control keys exactly.
 */
export class JwksServer {
  keys: JWK[] = [];
  cacheControl: string | undefined = undefined;
  up = true;
  fetches = 0;
  private server: Server | undefined;
  url = "";

  constructor(keys: SigningKey[] = []) {
    this.keys = keys.map((key) => key.publicJwk);
  }

  publish(...keys: SigningKey[]): void {
    this.keys = keys.map((key) => key.publicJwk);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.fetches += 1;
      if (!this.up) {
        res.writeHead(503).end();
        return;
      }
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (this.cacheControl) headers["cache-control"] = this.cacheControl;
      res.writeHead(200, headers).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}
