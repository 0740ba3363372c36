import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The repository root, found from this file (npm runs the bench with cwd = bench/). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** How to start one service, the way users run it, and how to recognise that it listens. */
export interface ServiceSpec {
  readonly name: string;
  /** The TypeScript entry point, relative to the repository root. */
  readonly entry: string;
  readonly env: Readonly<Record<string, string>>;
  /** Matches the one stdout line that says where it listens; group 1 is the URL. */
  readonly listening: RegExp;
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
  readonly stderrTail: string[];
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let hooksInstalled = false;
let signalExitCode: number | undefined;

/** After a signal, exit with this code instead of 128 + signal (`--serve` ends with Ctrl-C by design). */
export function exitWithCodeOnSignal(code: number): void {
  signalExitCode = code;
}

/**
 * Kills whatever is still running when the bench exits, however it exits: `exit` cannot wait,
 * so it sends SIGKILL; SIGINT / SIGTERM stop the children politely first.
 */
function installCleanupHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping the services it started\n`);
      void stopAll().finally(() => process.exit(signalExitCode ?? (signal === "SIGINT" ? 130 : 143)));
    });
  }
}

/** Stops every service still running (SIGTERM, then SIGKILL after a grace period). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => stopChild(child)));
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    running.delete(child);
    return;
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
  running.delete(child);
}

/**
 * Starts `node --import tsx <entry>` from the repository root (what `npx tsx <entry>` runs,
 * without the two wrapper processes, so the pid measured is the server's) and resolves once
 * it prints its listening line. Fails with its stderr if it exits or stays silent first.
 */
export async function startService(spec: ServiceSpec): Promise<Service> {
  installCleanupHooks();
  const args = ["--import", "tsx", spec.entry];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...spec.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 40) stderrTail.shift();
  });
  const envText = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`).join(" ");
  const command = `${envText} node --import tsx ${spec.entry}`;

  const url = await new Promise<string>((resolve, reject) => {
    const stdout = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(`did not print its listening line within ${spec.startTimeoutMs ?? 30_000} ms`), spec.startTimeoutMs ?? 30_000);
    function fail(reason: string) {
      clearTimeout(timer);
      stdout.close();
      child.kill("SIGKILL");
      const tail = stderrTail.length > 0 ? `\n  ${stderrTail.slice(-15).join("\n  ")}` : "";
      reject(new Error(`${spec.name} ${reason} (${command})${tail}`));
    }
    const onExit = (code: number | null, signal: string | null) => {
      // Give the stderr reader a moment to collect the reason.
      setTimeout(() => fail(`exited before listening (${signal ?? `code ${code}`})`), 50);
    };
    child.once("exit", onExit);
    child.once("error", (error) => fail(`could not be started: ${error.message}`));
    stdout.on("line", (line) => {
      const match = spec.listening.exec(line);
      if (!match) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      stdout.removeAllListeners("line");
      // Keep draining stdout (an access log at LOG_LEVEL=info) so the child never blocks on a full pipe.
      stdout.on("line", () => {});
      resolve(match[1]!.replace(/\/+$/, ""));
    });
  });

  const service: Service = {
    name: spec.name,
    url,
    pid: child.pid!,
    command,
    exited: undefined,
    stderrTail,
    stop: () => stopChild(child),
  };
  child.once("exit", (code, signal) => {
    service.exited = signal ?? `code ${code}`;
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
