import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/**
 * Starting and stopping the services as child processes, the way users run them, for every
 * caller that does (`npm start`, the bench): `node --import tsx <entry>` from the repository
 * root (what `npx tsx` runs, minus two wrapper processes, so the pid is the server's own),
 * ready once it prints its listening line, stopped with SIGTERM and then SIGKILL.
 */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Every service prints this once it listens (config/src/service.ts); group 1 is the URL. */
export const LISTENING_LINE = / listening on (http:\/\/\S+)/;

export interface ChildSpec {
  readonly name: string;
  /** The TypeScript entry point, relative to the repository root. */
  readonly entry: string;
  /** The whole environment of the child. */
  readonly env: NodeJS.ProcessEnv;
  /** The settings to show in {@link ChildService.command} (those the caller chose). */
  readonly shownEnv?: Readonly<Record<string, string>>;
  readonly startTimeoutMs?: number;
  /** In its own process group, so a terminal's Ctrl-C reaches only the parent. */
  readonly detached?: boolean;
  /** Every line the child writes, as it comes (its output is always drained). */
  readonly onLine?: (stream: "stdout" | "stderr", line: string) => void;
}

export interface ChildService {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The command line, for reports and for reproducing a run by hand. */
  readonly command: string;
  /** Resolves with how it ended (`code 0`, `SIGKILL`). */
  readonly exited: Promise<string>;
  /** The last lines it wrote to stderr, for diagnosing a failure. */
  readonly stderrTail: readonly string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** A service that did not come up: `reason` is one phrase (`exited with code 1 before listening`). */
export class StartFailure extends Error {
  constructor(readonly service: string, readonly reason: string, details: string) {
    super(`${service} ${reason}${details}`);
    this.name = "StartFailure";
  }
}

const started = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Whatever ends this process, no child is left behind (`exit` cannot wait: SIGKILL). */
function killChildrenOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
}

/** Starts a service and resolves once it listens; rejects with its stderr if it exits or stays silent. */
export function startChild(spec: ChildSpec): Promise<ChildService> {
  killChildrenOnExit();
  const child = spawn(process.execPath, ["--import", "tsx", spec.entry], {
    cwd: REPO_ROOT, env: spec.env, stdio: ["ignore", "pipe", "pipe"], detached: spec.detached ?? false,
  });
  started.add(child);
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => {
    started.delete(child);
    resolve(signal ?? `code ${code}`);
  }));
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 40) stderrTail.shift();
    spec.onLine?.("stderr", line);
  });
  const command = `${Object.entries(spec.shownEnv ?? {}).map(([k, v]) => `${k}=${v}`).join(" ")} node --import tsx ${spec.entry}`.trim();
  const timeoutMs = spec.startTimeoutMs ?? 30_000;

  return new Promise((resolve, reject) => {
    let listening = false;
    const fail = (reason: string) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      const tail = stderrTail.length > 0 ? `\n  ${stderrTail.slice(-15).join("\n  ")}` : "";
      reject(new StartFailure(spec.name, reason, ` (${command})${tail}`));
    };
    const timer = setTimeout(() => fail(`did not print its listening line within ${timeoutMs} ms`), timeoutMs);
    child.once("error", (error) => fail(`could not be started: ${error.message}`));
    // Give the stderr reader a moment to collect the reason.
    void exited.then((how) => !listening && setTimeout(() => fail(`exited with ${how} before listening`), 50));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      spec.onLine?.("stdout", line);
      const match = listening ? null : LISTENING_LINE.exec(line);
      if (!match) return;
      listening = true;
      clearTimeout(timer);
      resolve({
        name: spec.name, url: match[1]!.replace(/\/+$/, ""), pid: child.pid!, child, command, exited, stderrTail,
        stop: (graceMs = 10_000) => stopChild(child, exited, graceMs),
      });
    });
  });
}

async function stopChild(child: ChildProcess, exited: Promise<string>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
