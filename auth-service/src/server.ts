/**
 * Entry point: `npm run auth-service`. Configured by the environment, run by the one service
 * runner (config/src/service.ts): one line and exit 1 for a bad setting or a failed start,
 * graceful shutdown on SIGINT / SIGTERM within SHUTDOWN_TIMEOUT_S.
 */
import { loadAuthServiceConfig, REVOCATION_FEED_PATH, runService } from "@todo-gateway/config";
import { buildApp } from "./app.ts";
import { describeStartupError } from "./startup-errors.ts";

await runService({
  name: "auth-service",
  load: (env) => loadAuthServiceConfig(env),
  build: async (config) => {
    const app = await buildApp(config);
    if (app.secret.source === "development-file-created") {
      process.stderr.write(`auth-service: warning: BETTER_AUTH_SECRET is unset; generated a development secret in ${app.secret.file} (kept across restarts; set BETTER_AUTH_SECRET outside development)\n`);
    } else if (app.secret.source === "development-file") {
      process.stderr.write(`auth-service: warning: BETTER_AUTH_SECRET is unset; using the development secret in ${app.secret.file}\n`);
    }
    return app;
  },
  address: (config) => ({ host: config.host, port: config.port }),
  shutdownTimeoutS: (config) => config.shutdownTimeoutS,
  closeAllConnections: (app) => app.server.closeAllConnections(),
  portVariable: "AUTH_PORT",
  hostVariable: "AUTH_HOST",
  describeStartupError,
  announce: (app, config, url) => [
    `tokens: iss=${config.jwt.issuer} aud=${config.jwt.audience} alg=${config.jwt.algorithm} lifetime=${config.jwt.lifetimeS}s jwks=${config.baseUrl}/api/auth/jwks`,
    `revocations: feed=${url}${REVOCATION_FEED_PATH} redis=${app.revocations.relay?.where ?? "off"}`,
    `database: ${app.database.description}`,
  ],
});
