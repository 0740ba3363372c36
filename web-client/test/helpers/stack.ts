/**
 * The real product on free loopback ports for the browser tests: the legacy API stub, the
 * auth-service (Better Auth on SQLite in a temporary folder) and the gateway serving a fresh
 * build of the web client under `/app/`. Nothing is mocked.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { loadAuthServiceConfig, loadGatewayConfig, loadLegacyApiConfig } from "@todo-gateway/config";
import { buildApp as buildAuthService } from "@todo-gateway/auth-service";
import { buildApp as buildGateway } from "@todo-gateway/gateway";
import { buildApp as buildLegacyApi } from "@todo-gateway/legacy-api-stub";

const WEB_CLIENT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** What the auth-service puts in `iss` / `aud` (its configured base URL, not its test port). */
const AUTH_BASE_URL = "http://127.0.0.1:3001";

/** A port nobody listens on right now (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Builds the web client with its own vite config into `outDir`, so the test never depends on
 * a stale `web-client/dist` (the gateway reads its files once, at boot).
 */
export async function buildWebClient(outDir: string): Promise<void> {
  // Vitest sets NODE_ENV=test, which makes dependencies resolve to their development builds;
  // build exactly what `npm run build` ships, then put it back.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await build({
      configFile: join(WEB_CLIENT_ROOT, "vite.config.ts"),
      mode: "production",
      logLevel: "silent",
      build: { outDir, emptyOutDir: true },
    });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
}

export interface Stack {
  /** The gateway's origin, e.g. `http://127.0.0.1:40123`: the only address the browser uses. */
  readonly gatewayUrl: string;
  close(): Promise<void>;
}

export interface StackOptions {
  /** A built web client to serve under `/app/`; default: none (404). */
  readonly webClientDir?: string;
  /** `CORS_ORIGINS` for the gateway and the auth-service. */
  readonly corsOrigins?: readonly string[];
  /** The auth-service's `NODE_ENV`; `production` turns its sign-in / sign-up rate limit on. Default `test`. */
  readonly authNodeEnv?: "test" | "production";
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const closeOne of closers.reverse()) await closeOne().catch(() => undefined);
  };
  try {
    const legacy = await buildLegacyApi(loadLegacyApiConfig({ LOG_LEVEL: "silent" }), { logger: false });
    closers.push(() => legacy.close());
    await legacy.listen({ host: "127.0.0.1", port: 0 });
    const legacyUrl = `http://127.0.0.1:${(legacy.server.address() as AddressInfo).port}`;

    // Better Auth checks the Origin of cookie-bearing POSTs: the gateway's public URL must be
    // its real address, so the port is chosen before either starts.
    const gatewayPort = await freePort();
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const corsOrigins = (options.corsOrigins ?? []).join(",");

    const dataDir = mkdtempSync(join(tmpdir(), "web-client-auth-"));
    closers.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const auth = await buildAuthService(
      loadAuthServiceConfig({
        NODE_ENV: options.authNodeEnv ?? "test", BETTER_AUTH_SECRET: randomBytes(32).toString("hex"), DATA_DIR: dataDir,
        BETTER_AUTH_URL: AUTH_BASE_URL, GATEWAY_PUBLIC_URL: gatewayUrl, CORS_ORIGINS: corsOrigins, LOG_LEVEL: "silent",
      }),
    );
    closers.push(() => auth.close());
    const authUrl = await auth.listen({ host: "127.0.0.1", port: 0 });

    const gateway = await buildGateway(
      loadGatewayConfig({
        GATEWAY_PORT: String(gatewayPort), LEGACY_API_URL: legacyUrl, AUTH_SERVICE_URL: authUrl,
        JWT_ISSUER: AUTH_BASE_URL, JWT_AUDIENCE: AUTH_BASE_URL, CORS_ORIGINS: corsOrigins, LOG_LEVEL: "silent",
        ...(options.webClientDir === undefined ? {} : { WEB_CLIENT_DIR: options.webClientDir }),
      }),
      { logger: false },
    );
    closers.push(() => gateway.close());
    await gateway.listen({ host: "127.0.0.1", port: gatewayPort });
    return { gatewayUrl, close };
  } catch (error) {
    await close();
    throw error;
  }
}
