/**
 * Entry point: `npm run gateway`. Configured by the environment, run by the one service
 * runner (config/src/service.ts): one line and exit 1 for a bad setting or a failed start,
 * SIGINT / SIGTERM drain within SHUTDOWN_TIMEOUT_S (then remaining connections are closed and
 * it exits 0), SIGHUP re-reads the route table file.
 */
import { ConfigError, gatewayRouteTableContext, loadGatewayConfig, loadRouteTable, runService, type GatewayConfig } from "@todo-gateway/config";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.ts";

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

await runService({
  name: "gateway",
  load: (env) => loadGatewayConfig(env),
  build: (config) => buildApp(config),
  address: (config) => ({ host: config.host, port: config.port }),
  shutdownTimeoutS: (config) => config.shutdownTimeoutS,
  closeAllConnections: (app) => app.server.closeAllConnections(),
  portVariable: "GATEWAY_PORT",
  hostVariable: "GATEWAY_HOST",
  onReload: reloadRouteTable,
});
