import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

/** The repository root, where `npm start` runs. */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** A port nobody listens on right now (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface StartedStack {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Resolves once `npm start` has printed its summary; rejects after 40 s or an early exit. */
  readonly up: Promise<void>;
  readonly output: () => string;
}

/** `scripts/start.ts` as `npm start` runs it, with only PATH, DATA_DIR and `env` set. */
export function startStack(dataDir: string, env: Record<string, string>): StartedStack {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const up = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stack did not come up:\n${output}`)), 40_000);
    child.stdout!.on("data", () => output.includes("Press Ctrl-C to stop.") && (clearTimeout(timer), resolve()));
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`stack exited before coming up:\n${output}`));
    });
  });
  // A rejection nobody awaits (the stack exited after coming up) is not an error.
  up.catch(() => undefined);
  return { child, exited, up, output: () => output };
}

/** Free ports for the three services, and the settings that put them there. */
export async function stackPorts(): Promise<{ ports: { legacy: number; auth: number; gateway: number }; env: Record<string, string> }> {
  const ports = { legacy: await freePort(), auth: await freePort(), gateway: await freePort() };
  return {
    ports,
    env: {
      LEGACY_API_PORT: String(ports.legacy), AUTH_PORT: String(ports.auth), GATEWAY_PORT: String(ports.gateway),
      BETTER_AUTH_URL: `http://127.0.0.1:${ports.auth}`,
    },
  };
}
