/**
 * Entry point: `npm run legacy-api`. Configured by the environment, run by the one service
 * runner (config/src/service.ts): one line and exit 1 for a bad setting, a failed start or a
 * task database it cannot use, a "listening" line on stdout, graceful shutdown on SIGINT /
 * SIGTERM. Logs go to stderr.
 */
import { loadLegacyApiConfig, runService } from "@todo-gateway/config";
import { buildApp } from "./app.ts";
import { TaskStoreOpenError } from "./tasks/sqlite-store.ts";

await runService({
  name: "legacy-api",
  load: (env) => loadLegacyApiConfig(env),
  build: (config) => buildApp(config),
  address: (config) => ({ host: config.host, port: config.port }),
  shutdownTimeoutS: (config) => config.shutdownTimeoutS,
  closeAllConnections: (app) => app.server.closeAllConnections(),
  portVariable: "LEGACY_API_PORT",
  hostVariable: "LEGACY_API_HOST",
  // A damaged or foreign task file stops the stub: starting empty would look like lost tasks.
  describeStartupError: (error) =>
    error instanceof TaskStoreOpenError ? `cannot use the task database LEGACY_API_DATABASE=${error.message}` : `start-up failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
});
