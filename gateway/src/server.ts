/**
 * Entry point: `npm run gateway`. Configured by the environment, run by the one service
 * runner (config/src/service.ts): one line and exit 1 for a bad setting or a failed start,
 * SIGINT / SIGTERM drain within SHUTDOWN_TIMEOUT_S (then remaining connections are closed and
 * it exits 0), SIGHUP re-reads the route table file. With GATEWAY_WORKERS > 1 the process is
 * a supervisor of that many workers (workers.ts).
 */
import cluster from "node:cluster";
import { ConfigError, gatewayRouteTableContext, loadGatewayConfig, loadOrExit, loadRouteTable, runService, type GatewayConfig } from "@todo-gateway/config";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.ts";
import { runPrimary, workerReports } from "./workers.ts";

/**
 * SIGHUP: re-read the route table file. A bad file is refused with its problems and the table
 * in force stays; requests already under way finish on the table they started with.
 */
function reloadRouteTable(app: FastifyInstance, config: GatewayConfig): void {
  try {
    const table = loadRouteTable(config.routeTableFile, gatewayRouteTableContext(process.env));
    app.replaceRouteTable(table);
    app.log.info({ file: table.source, routes: table.routes.length }, "route table reloaded");
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems : [(error as Error).message];
    for (const line of problems) process.stderr.write(`gateway: route table reload refused: ${line}\n`);
    app.log.error({ file: config.routeTableFile, problems }, "route table reload refused; keeping the previous table");
  }
}

// GATEWAY_WORKERS > 1: this process supervises (workers.ts); each worker runs the gateway below.
const workers = cluster.isPrimary ? loadOrExit("gateway", () => loadGatewayConfig(process.env)) : undefined;
if (workers !== undefined && workers.workers > 1) runPrimary(workers);
else await runService({
  name: "gateway",
  load: (env) => loadGatewayConfig(env),
  build: (config) => buildApp(config),
  address: (config) => ({ host: config.host, port: config.port }),
  shutdownTimeoutS: (config) => config.shutdownTimeoutS,
  closeAllConnections: (app) => app.server.closeAllConnections(),
  portVariable: "GATEWAY_PORT",
  hostVariable: "GATEWAY_HOST",
  onReload: reloadRouteTable,
  ...(cluster.isWorker ? { supervised: workerReports() } : {}),
});
