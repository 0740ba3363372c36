/**
 * `npm start`: the whole stack on loopback with embedded defaults. Services start in
 * dependency order (the gateway loads its keys from the auth-service at boot), each as its own
 * process, the way they run in production. Ctrl-C or SIGTERM stops them all and exits 0; a
 * service that fails to start (or dies) stops the others and exits non-zero with its reason.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const root = fileURLToPath(new URL("..", import.meta.url));

interface Service {
  readonly name: string;
  readonly entry: string;
  /** What to tell the user once it listens. */
  readonly describe: (url: string) => string;
  /** Settings this service's address gives the services started after it, unless already set. */
  readonly provides?: (url: string) => Record<string, string>;
}

const SERVICES: readonly Service[] = [
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

interface Running {
  readonly service: Service;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

const running: Running[] = [];
let stopping = false;

function start(service: Service): Promise<{ running: Running; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", service.entry], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    // Own process group: a terminal Ctrl-C reaches only this script, which stops each child once.
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : null))));
  const entry: Running = { service, child, exited };
  running.push(entry);
  const prefix = `[${service.name}] `;
  createInterface({ input: child.stderr! }).on("line", (line) => process.stderr.write(prefix + line + "\n"));
  return new Promise((resolve, reject) => {
    let listening = false;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      process.stdout.write(prefix + line + "\n");
      const match = listening ? null : / listening on (http:\/\/\S+)/.exec(line);
      if (match) {
        listening = true;
        resolve({ running: entry, url: match[1]! });
      }
    });
    void exited.then((code) => {
      if (!listening) reject(new Error(`${service.name} exited with code ${code} before listening`));
      else if (!stopping) void stopAll(`${service.name} stopped unexpectedly (exit code ${code})`, 1);
    });
  });
}

async function stopAll(reason: string | undefined, exitCode: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (reason) process.stderr.write(`start: ${reason}; stopping the other services\n`);
    for (const { child } of [...running].reverse()) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    }
    const timeout = setTimeout(() => {
      for (const { child } of running) child.kill("SIGKILL");
    }, 10_000);
    await Promise.all(running.map((r) => r.exited));
    clearTimeout(timeout);
  }
  process.exit(exitCode);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => void stopAll(undefined, 0));
}
// Never leave a child behind, whatever ends this process.
process.on("exit", () => {
  for (const { child } of running) if (child.exitCode === null) child.kill("SIGTERM");
});

const urls: string[] = [];
try {
  for (const service of SERVICES) {
    if (!existsSync(new URL(`../${service.entry}`, import.meta.url))) continue;
    const { url } = await start(service);
    urls.push(service.describe(url));
    for (const [name, value] of Object.entries(service.provides?.(url) ?? {})) env[name] ??= value;
  }
} catch (error) {
  await stopAll((error as Error).message, 1);
}
process.stdout.write(`\nTodo Auth Gateway is up:\n${urls.map((u) => `  ${u}`).join("\n")}\nPress Ctrl-C to stop.\n\n`);
