import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SERVER = "auth-service/src/server.ts";

export interface ServerProcess {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Resolves with the listening URL once all start-up lines are printed; rejects if the process exits first. */
  readonly ready: Promise<string>;
}

/** Runs `tsx auth-service/src/server.ts` from the repo root, as `npm run auth-service` does, with only `env` (plus PATH). */
export function runServer(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", SERVER], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc = { child, stdout: "", stderr: "" } as ServerProcess & { stdout: string; stderr: string };
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      proc.stdout += chunk.toString();
      // Resolve once the last start-up line is in: stdout may arrive in several chunks.
      const match = /auth-service listening on (http:\/\/\S+)/.exec(proc.stdout);
      if (match && /^auth-service database: .*$/m.test(proc.stdout)) resolve(match[1]!);
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      proc.stderr += chunk.toString();
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening: ${proc.stderr}`)));
  });
  ready.catch(() => undefined);
  return Object.assign(proc, { exited, ready });
}
