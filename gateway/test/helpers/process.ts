import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface GatewayProcess {
  readonly child: ChildProcess;
  /** Resolves with the listening URL; rejects if the process exits first. */
  readonly listening: Promise<string>;
  readonly exited: Promise<number | null>;
  output(): { stdout: string; stderr: string };
  /** The process's resident memory now, in MiB (from /proc). */
  rssMiB(): number;
  /** True while the process runs. */
  alive(): boolean;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `gateway/src/server.ts` as `npm run gateway` does, configured only by `env` (plus PATH). */
export function startGatewayProcess(env: Record<string, string>): GatewayProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "gateway/src/server.ts"], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, GATEWAY_PORT: "0", REVOCATION_SOURCE: "off", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  let running = true;
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => {
    running = false;
    resolve(code);
  }));
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${stderr}`)), 20_000);
    child.stdout!.on("data", () => {
      const match = /gateway listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening: ${stderr}`));
    });
  });
  listening.catch(() => undefined);
  return {
    child, listening, exited,
    output: () => ({ stdout, stderr }),
    rssMiB: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
    },
    alive: () => running,
    async stop(signal = "SIGTERM") {
      if (running) child.kill(signal);
      return exited;
    },
  };
}

/** Polls until `condition` holds, or throws after `timeoutMs`. */
export async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs = 5_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} not met within ${timeoutMs} ms`);
}

/** The pids of a process's children now (Linux: /proc/<pid>/task/<pid>/children); a gateway primary's are its workers. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A gateway's JSON log lines (stdout) that parse; access lines are those with `msg: "request"`. */
export function logEntries(stdout: string): Record<string, unknown>[] {
  const entries: Record<string, unknown>[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      entries.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the buffer flush in progress: read it next time
    }
  }
  return entries;
}

/** The access lines (one per request) a gateway wrote so far, optionally only one route's. */
export function accessLines(stdout: string, route?: string): { pid: number; route: string; status: number; client?: string; sub?: string }[] {
  return logEntries(stdout)
    .filter((entry) => entry.msg === "request" && (route === undefined || entry.route === route))
    .map((entry) => entry as { pid: number; route: string; status: number; client?: string; sub?: string });
}
