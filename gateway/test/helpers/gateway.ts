import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { loadGatewayConfig } from "@todo-gateway/config";
import { buildApp, type GatewayDeps } from "../../src/app.ts";
import { NOW_MS } from "./clock.ts";
import { AUDIENCE, ISSUER } from "./tokens.ts";

export interface RunningGateway {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Builds the gateway from an environment-style record (never process.env), with the test
 * issuer and audience and a pinned clock, and listens on a free loopback port.
 */
export async function startGateway(env: Record<string, string>, deps: GatewayDeps = {}): Promise<RunningGateway> {
  // Revocation off unless a test turns it on: most fixtures have no auth-service to read events from.
  // Load shedding off unless a test turns it on (load-shedding.test.ts): in-process, the loop it
  // watches is the test's own too, and a test's own bursts on a busy machine would shed requests
  // whose answers that test asserts.
  const config = loadGatewayConfig({
    JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, UPSTREAM_TIMEOUT_MS: "2000", REVOCATION_SOURCE: "off", MAX_EVENT_LOOP_DELAY_MS: "0", ...env,
  });
  const app = await buildApp(config, { logger: false, now: () => NOW_MS, ...deps });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { app, port, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
