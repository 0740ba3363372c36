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
const address = app.server.address();
const port = typeof address === "object" && address ? address.port : config.port;
process.stdout.write(`gateway listening on http://${config.host}:${port}\n`);

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

let closing = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (closing) process.exit(1); // a second signal: stop waiting
    closing = true;
    // Stop accepting, let in-flight requests finish, close upstream pools and the key refresher.
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`gateway: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  });
}
