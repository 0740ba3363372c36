import { REPO_ROOT, startChild, type ChildService } from "@todo-gateway/config";

export { REPO_ROOT };

/** How to start one service for a run: its own settings (shown in the report) over the bench's environment. */
export interface ServiceSpec {
  readonly name: string;
  /** The TypeScript entry point, relative to the repository root. */
  readonly entry: string;
  readonly env: Readonly<Record<string, string>>;
  readonly startTimeoutMs?: number;
}

/** A started service. `pid` is the Node process itself, so /proc figures are its own. */
export interface Service {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** The command line, for the report and for reproducing the run by hand. */
  readonly command: string;
  /** Set once the process has exited, with its code or signal. */
  exited: string | undefined;
  /** The last lines it wrote to stderr, for diagnosing a failure. */
  readonly stderrTail: readonly string[];
  stop(): Promise<void>;
}

const running = new Set<ChildService>();
let hooksInstalled = false;
let signalExitCode: number | undefined;

/** After a signal, exit with this code instead of 128 + signal (`--serve` ends with Ctrl-C by design). */
export function exitWithCodeOnSignal(code: number): void {
  signalExitCode = code;
}

/** SIGINT / SIGTERM / SIGHUP stop the services politely, then end the bench. */
function installSignalHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping the services it started\n`);
      void stopAll().finally(() => process.exit(signalExitCode ?? (signal === "SIGINT" ? 130 : 143)));
    });
  }
}

/** Stops every service still running (SIGTERM, then SIGKILL after a grace period). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => child.stop(5_000)));
}

/** Starts a service with the shared launcher (config/src/processes.ts) and resolves once it listens. */
export async function startService(spec: ServiceSpec): Promise<Service> {
  installSignalHooks();
  const child = await startChild({
    name: spec.name, entry: spec.entry, env: { ...process.env, ...spec.env }, shownEnv: spec.env, startTimeoutMs: spec.startTimeoutMs,
  });
  running.add(child);
  const service: Service = {
    name: child.name, url: child.url, pid: child.pid, command: child.command, exited: undefined, stderrTail: child.stderrTail,
    stop: () => child.stop(5_000),
  };
  void child.exited.then((how) => {
    service.exited = how;
    running.delete(child);
  });
  return service;
}

/** Polls `url` until it answers 200, or throws after `timeoutMs`. */
export async function waitForOk(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (${last})`);
}
