/**
 * `npm start`: the whole stack on loopback with embedded defaults. Services start in
 * dependency order (the gateway loads its keys from the auth-service at boot), each as its own
 * process (config/src/processes.ts), the way they run in production. Ctrl-C or SIGTERM stops
 * them all and exits 0; a service that fails to start (or dies) stops the others and exits
 * non-zero with its reason.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SHUTDOWN_TIMEOUT_S, StartFailure, startChild, type ChildService } from "@todo-gateway/config";

interface ServiceEntry {
  readonly name: string;
  readonly entry: string;
  /** What to tell the user once it listens. */
  readonly describe: (url: string) => string;
  /** Settings this service's address gives the services started after it, unless already set. */
  readonly provides?: (url: string) => Record<string, string>;
}

const SERVICES: readonly ServiceEntry[] = [
  {
    name: "legacy-api", entry: "legacy-api-stub/src/server.ts",
    describe: (url) => `legacy API (Spec 001)  ${url}/api/{user_id}/tasks  (tasks kept in ${env.LEGACY_API_DATABASE})`,
    provides: (url) => ({ LEGACY_API_URL: url }),
  },
  {
    name: "auth-service", entry: "auth-service/src/server.ts",
    describe: (url) => `auth-service           ${url}/api/auth/*`,
    provides: (url) => ({ AUTH_SERVICE_URL: url }),
  },
  { name: "gateway", entry: "gateway/src/server.ts", describe: (url) => `gateway (use this)     ${url}` },
];

// Development defaults for the stack as a whole; anything set in the environment wins.
const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: process.env.NODE_ENV ?? "development" };
// Tasks outlive a restart as accounts do: the stub's SQLite file sits beside the auth-service's
// (DATA_DIR, `.data` by default). The stub alone (`npm run legacy-api`) keeps them in memory.
env.LEGACY_API_DATABASE ??= join(env.DATA_DIR || ".data", "tasks.db");
// In a terminal, readable lines; piped somewhere (a file, a collector), the JSON lines.
env.LOG_FORMAT ??= process.stdout.isTTY ? "pretty" : "json";

const running: ChildService[] = [];
let stopping = false;

async function stopAll(reason: string | undefined, exitCode: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (reason) process.stderr.write(`start: ${reason}; stopping the other services\n`);
    // Reverse order: the gateway first, so nothing is left calling a stopped service. Each gets
    // its own shutdown deadline and a little more before it is killed.
    const graceMs = (Number(env.SHUTDOWN_TIMEOUT_S) || DEFAULT_SHUTDOWN_TIMEOUT_S) * 1000 + 5_000;
    for (const service of [...running].reverse()) await service.stop(graceMs);
  }
  process.exit(exitCode);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => void stopAll(undefined, 0));
}

const urls: string[] = [];
try {
  for (const service of SERVICES) {
    if (!existsSync(new URL(`../${service.entry}`, import.meta.url))) continue;
    const prefix = `[${service.name}] `;
    const started = await startChild({
      name: service.name, entry: service.entry, env: { ...env },
      // Own process group: a terminal Ctrl-C reaches only this script, which stops each child once.
      detached: true,
      onLine: (stream, line) => (stream === "stdout" ? process.stdout : process.stderr).write(prefix + line + "\n"),
    });
    running.push(started);
    void started.exited.then((how) => {
      if (!stopping) void stopAll(`${service.name} stopped unexpectedly (${how})`, 1);
    });
    urls.push(service.describe(started.url));
    for (const [name, value] of Object.entries(service.provides?.(started.url) ?? {})) env[name] ??= value;
  }
} catch (error) {
  // The service's own reason is already on stderr (prefixed with its name); this says what follows.
  await stopAll(error instanceof StartFailure ? `${error.service} ${error.reason}` : (error as Error).message, 1);
}
process.stdout.write(`\nTodo Auth Gateway is up:\n${urls.map((u) => `  ${u}`).join("\n")}\nPress Ctrl-C to stop.\n\n`);
