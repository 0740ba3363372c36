import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from "jose";

/** What the gateway is told to expect in `iss` / `aud` (JWT_ISSUER / JWT_AUDIENCE). */
export const BENCH_ISSUER = "http://127.0.0.1/bench-auth";
export const BENCH_AUDIENCE = "todo-gateway-bench";
/** One hour: longer than any run, so no token expires while it is measured. */
export const TOKEN_LIFETIME_S = 3600;
/** Mint this many tokens at once: jose signs through WebCrypto on the thread pool, so a batch uses both cores. */
const MINT_BATCH = 512;

/**
 * The bench's own token issuer: an Ed25519 key made for this run, published as a one-key JWKS,
 * and tokens shaped like the auth-service's slim ones (`sub`, `sid`, `email`, `jti`, iat/exp,
 * iss/aud), with header `{alg: "EdDSA", kid}`.
 */
export class TokenIssuer {
  private constructor(
    private readonly privateKey: CryptoKey,
    readonly kid: string,
    readonly jwks: { readonly keys: readonly JWK[] },
  ) {}

  static async create(): Promise<TokenIssuer> {
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const kid = randomBytes(16).toString("hex");
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" };
    return new TokenIssuer(privateKey, kid, Object.freeze({ keys: Object.freeze([Object.freeze(jwk)]) }));
  }

  /** One valid token for `sub`; every call gives a distinct token (its own `jti`). */
  mint(sub: string, nowS = Math.floor(Date.now() / 1000)): Promise<string> {
    return new SignJWT({ sid: randomBytes(12).toString("base64url"), email: `${sub.slice(0, 12)}@bench.invalid` })
      .setProtectedHeader({ alg: "EdDSA", kid: this.kid })
      .setSubject(sub)
      .setIssuer(BENCH_ISSUER)
      .setAudience(BENCH_AUDIENCE)
      .setJti(randomBytes(12).toString("base64url"))
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + TOKEN_LIFETIME_S)
      .sign(this.privateKey);
  }

  /** One token per subject listed, minted in parallel batches. */
  async mintMany(subjects: readonly string[]): Promise<string[]> {
    const tokens: string[] = [];
    const nowS = Math.floor(Date.now() / 1000);
    for (let i = 0; i < subjects.length; i += MINT_BATCH) {
      const batch = subjects.slice(i, i + MINT_BATCH);
      tokens.push(...(await Promise.all(batch.map((sub) => this.mint(sub, nowS)))));
    }
    return tokens;
  }
}

/** How many distinct forgeries {@link forgeToken} makes from one token. */
export const FORGERIES_PER_TOKEN = 64 * 255;

/**
 * A forged token: `token` with one byte of its signature changed (byte `variant % 64`, XOR
 * `1 + ⌊variant / 64⌋ % 255`), so header and payload are intact and only the signature check
 * can refuse it. Distinct `variant`s below {@link FORGERIES_PER_TOKEN} give distinct tokens, and
 * the result is still strict base64url, so it is refused for its signature and nothing earlier.
 */
export function forgeToken(token: string, variant: number): string {
  const dot = token.lastIndexOf(".");
  const signature = Buffer.from(token.slice(dot + 1), "base64url");
  const index = variant % signature.length;
  signature[index] = signature[index]! ^ (1 + (Math.floor(variant / signature.length) % 255));
  return `${token.slice(0, dot + 1)}${signature.toString("base64url")}`;
}

/** A user id shaped like the auth-service's (32 characters, letters and digits). */
export function userId(prefix: string, index: number): string {
  const tail = `${prefix}${index.toString(36)}`;
  return (tail + randomBytes(24).toString("hex")).slice(0, 32);
}

export interface JwksServer {
  readonly url: string;
  /** How often the gateway fetched the keys (it should be once at start). */
  readonly fetches: () => number;
  close(): Promise<void>;
}

/** Serves the JWKS on loopback, port 0, with a long max-age so the gateway does not refetch mid-run. */
export async function startJwksServer(jwks: { readonly keys: readonly JWK[] }): Promise<JwksServer> {
  const body = JSON.stringify(jwks);
  let fetches = 0;
  const server: Server = createServer((request, response) => {
    fetches += 1;
    response.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=3600", "content-length": Buffer.byteLength(body) });
    response.end(request.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    fetches: () => fetches,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
