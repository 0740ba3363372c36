import { ConfigError, gatewayRouteTableContext, loadGatewayConfig, loadOrExit, loadRouteTable } from "@todo-gateway/config";
import { buildApp } from "./app.ts";

const config = loadOrExit("gateway", () => loadGatewayConfig(process.env));
const app = await buildApp(config);

try {
  await app.listen({ host: config.host, port: config.port });
} catch (error) {
  process.stderr.write(`gateway: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}\n`);
  process.exit(1);
}
// SIGHUP: re-read the route table file. A bad file is refused with its problems and the table
// in force stays; requests already under way finish on the table they started with.
process.on("SIGHUP", () => {
  try {
    const table = loadRouteTable(config.routeTableFile, gatewayRouteTableContext(process.env));
    app.replaceRouteTable(table);
    app.log.info({ file: table.source, routes: table.routes.length }, "route table reloaded");
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems : [(error as Error).message];
    for (const line of problems) process.stderr.write(`gateway: route table reload refused: ${line}\n`);
    app.log.error({ file: config.routeTableFile, problems }, "route table reload refused; keeping the previous table");
  }
});

// SIGTERM / SIGINT: stop accepting, let in-flight requests finish for up to SHUTDOWN_TIMEOUT_S
// (under Kubernetes' 30 s grace), then close what is left and exit 0: a request that outlives
// the deadline is the one thing a stop may cut, never a reason not to stop.
let closing = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (closing) process.exit(1); // a second signal: stop waiting
    closing = true;
    const deadline = setTimeout(() => {
      process.stderr.write(`gateway: requests still in flight after SHUTDOWN_TIMEOUT_S=${config.shutdownTimeoutS}; closing their connections\n`);
      app.server.closeAllConnections();
      // close() resolves once the connections are gone; if an onClose hook hangs, stop anyway.
      setTimeout(() => process.exit(0), 1_000).unref();
    }, config.shutdownTimeoutS * 1000);
    deadline.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`gateway: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  });
}

// Announced only once the signal handlers are in: a supervisor may signal as soon as it reads this.
const address = app.server.address();
const port = typeof address === "object" && address ? address.port : config.port;
process.stdout.write(`gateway listening on http://${config.host}:${port}\n`);
