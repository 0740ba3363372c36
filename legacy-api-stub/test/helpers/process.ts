import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** src/server.ts as `npm run legacy-api` starts it, in its own process. */
const SERVER = fileURLToPath(new URL("../../src/server.ts", import.meta.url));
const LISTENING = /^legacy-api listening on http:\/\/127\.0\.0\.1:(\d+)$/;

export interface Run {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the server with `env` on top of this process's environment, minus the stub's own settings. */
export function runServer(env: Record<string, string>): Run {
  const { LOG_LEVEL: _level, LEGACY_API_HOST: _host, LEGACY_API_PORT: _port, LEGACY_API_DATABASE: _database, ...inherited } = process.env;
  const child = spawn(process.execPath, ["--import", "tsx", SERVER], {
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    env: { ...inherited, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** The port from the one stdout line, once it is complete; throws if the server exits first. */
export async function listeningPort(run: Run): Promise<number> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const match = LISTENING.exec(run.stdout().split("\n")[0] ?? "");
    if (match && run.stdout().endsWith("\n")) return Number(match[1]);
    if (run.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server did not start; stdout: ${run.stdout()} stderr: ${run.stderr()}`);
}

export const lines = (text: string) => text.split("\n").filter((line) => line !== "");
