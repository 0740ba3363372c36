import { loadGatewayConfig, loadOrExit } from "@todo-gateway/config";
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
