import type { GatewayDeps } from "../../src/app.ts";
import { startGateway, type RunningGateway } from "./gateway.ts";
import { JwksServer, createSigningKey, type SigningKey } from "./keys.ts";
import { mintToken, type MintOptions } from "./tokens.ts";
import { RecordingUpstream } from "./upstream.ts";

export interface Fixture {
  readonly gateway: RunningGateway;
  readonly jwks: JwksServer;
  readonly upstream: RecordingUpstream;
  readonly key: SigningKey;
  /** A valid token for `sub` signed by the published key. */
  token(sub?: string, options?: Omit<MintOptions, "key" | "sub">): Promise<string>;
  /** `Authorization` header for a valid token. */
  bearer(sub?: string): Promise<Record<string, string>>;
  /** Requests the upstream has received so far. */
  forwarded(): number;
  close(): Promise<void>;
}

/**
 * A gateway in front of a recording upstream, with keys from a real JWKS server on loopback.
 * Both upstream names point at the recorder so any leak past the gateway is seen.
 */
export async function startFixture(
  env: Record<string, string> = {},
  deps: GatewayDeps = {},
  { alg = "EdDSA", jwksCacheControl }: { alg?: string; jwksCacheControl?: string } = {},
): Promise<Fixture> {
  const key = await createSigningKey(alg);
  const jwks = await new JwksServer([key]).start();
  jwks.cacheControl = jwksCacheControl;
  const upstream = await new RecordingUpstream().start();
  const gateway = await startGateway(
    { JWKS_URL: jwks.url, LEGACY_API_URL: upstream.url, AUTH_SERVICE_URL: upstream.url, JWT_ALGORITHMS: alg, ...env },
    deps,
  );
  const token = (sub = "user-1", options: Omit<MintOptions, "key" | "sub"> = {}) => mintToken({ key, sub, ...options });
  return {
    gateway, jwks, upstream, key, token,
    bearer: async (sub = "user-1") => ({ authorization: `Bearer ${await token(sub)}` }),
    forwarded: () => upstream.requests.length,
    async close() {
      await gateway.close();
      await Promise.all([upstream.stop(), jwks.stop()]);
    },
  };
}

/** Reads a refusal: status, the RFC 6750 challenge and the problem body. */
export async function refusal(response: Response) {
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    challenge: response.headers.get("www-authenticate"),
    body: (await response.json()) as { type: string; title: string; status: number; detail: string },
  };
}
