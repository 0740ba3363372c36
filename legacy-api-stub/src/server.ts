import type { AddressInfo } from "node:net";
import { loadLegacyApiConfig, loadOrExit } from "@todo-gateway/config";
import { buildApp } from "./app.ts";
import { TaskStoreOpenError } from "./tasks/sqlite-store.ts";

/**
 * Runs the stub: configuration from the environment (one line and exit 1 when it is wrong, or
 * when the task database it names cannot be used),
 * one "listening" line on stdout, a clean stop on SIGINT / SIGTERM (requests in flight finish,
 * then exit 0). Logs go to stderr.
 */
const SERVICE = "legacy-api";
// If closing hangs (a request that never ends), give up rather than never exit.
const CLOSE_TIMEOUT_MS = 10_000;

const config = loadOrExit(SERVICE, () => loadLegacyApiConfig(process.env));
const app = await buildApp(config).catch((error: unknown) => {
  // A damaged or foreign task file stops the stub: starting empty would look like lost tasks.
  if (!(error instanceof TaskStoreOpenError)) throw error;
  process.stderr.write(`${SERVICE}: cannot use the task database LEGACY_API_DATABASE=${error.message}\n`);
  process.exit(1);
});

try {
  await app.listen({ host: config.host, port: config.port });
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${SERVICE}: cannot listen on ${formatHostPort(config.host, config.port)}: ${reason}\n`);
  process.exit(1);
}

const bound = app.server.address() as AddressInfo;
process.stdout.write(`${SERVICE} listening on http://${formatHostPort(bound.address, bound.port)}\n`);

let closing = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, "closing");
    setTimeout(() => {
      process.stderr.write(`${SERVICE}: requests still open after ${CLOSE_TIMEOUT_MS} ms, exiting\n`);
      process.exit(1);
    }, CLOSE_TIMEOUT_MS).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${SERVICE}: error while closing: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  });
}

function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
