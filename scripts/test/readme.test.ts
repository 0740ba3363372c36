/**
 * The README is the front door: every shell block in it parses, and the conversation it tells a
 * new user to paste, and `npm run demo`, give the statuses they promise against a real
 * `npm start`, twice in a row (the second run must not trip over the first one's account).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, stackPorts, startStack, type StartedStack } from "./helpers/stack.ts";

/** README.md and every package's README.md. */
const READMES = ["README.md", ...readdirSync(ROOT).map((dir) => join(dir, "README.md")).filter((file) => existsSync(join(ROOT, file)))];

function shellBlocks(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(/^```(?:sh|bash)\n([\s\S]*?)^```/gm)].map((match) => match[1]!);
}

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

describe("the README's shell blocks", () => {
  it.each(READMES.flatMap((file) => shellBlocks(file).map((block, i) => [`${file} block ${i + 1}`, block] as const)))(
    "%s parses in bash (bash -n)",
    async (_name, block) => {
      const checked = await run("bash", ["-n"], { input: block });
      expect(checked.stderr).toBe("");
      expect(checked.code).toBe(0);
    },
  );
});

describe("the README's conversation against npm start", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "readme-test-"));
  let stack: StartedStack;
  let gateway: string;

  beforeAll(async () => {
    const { ports, env } = await stackPorts();
    gateway = `http://127.0.0.1:${ports.gateway}`;
    // NODE_ENV=development, as npm start has it: Better Auth's origin checks are on.
    stack = startStack(dataDir, { ...env, NODE_ENV: "development" });
    await stack.up;
  }, 60_000);

  afterAll(async () => {
    if (stack && stack.child.exitCode === null) {
      stack.child.kill("SIGTERM");
      await stack.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  const conversation = () => {
    const block = shellBlocks("README.md").find((text) => text.includes("/api/auth/sign-up/email"));
    if (!block) throw new Error("README.md has no shell block with the conversation");
    return block;
  };

  it("pasted into an interactive bash, prints each status it promises, and runs again as is", { timeout: 60_000 }, async () => {
    for (const attempt of [1, 2]) {
      const pasted = await run("bash", ["--norc", "--noprofile", "-i"], { input: conversation(), env: { GATEWAY: gateway } });
      expect(pasted.code, `attempt ${attempt}: ${pasted.stderr}`).toBe(0);
      expect(pasted.stdout.split("\n").filter(Boolean)).toEqual([
        "sign-up       200",
        "sign-in       200",
        "token         200",
        "create task   201",
        "list tasks    200",
        "Buy milk",
        "someone else  403",
        "no token      401",
      ]);
      // A paste that half worked (a missing command, a quoting slip) shows on stderr.
      expect(pasted.stderr).not.toMatch(/command not found|syntax error|No such file/);
    }
  });

  it("says where the gateway is by default: npm start's own address", () => {
    expect(conversation().split("\n")[0]).toBe("GATEWAY=${GATEWAY:-http://127.0.0.1:8080}");
  });

  it("npm run demo prints each step's status and exits 0, twice in a row", { timeout: 60_000 }, async () => {
    for (const attempt of [1, 2]) {
      const demo = await run("npm", ["run", "--silent", "demo"], { env: { GATEWAY: gateway } });
      expect(demo.code, `attempt ${attempt}: ${demo.stdout}${demo.stderr}`).toBe(0);
      const statuses = demo.stdout.split("\n").map((line) => /^(\S+ +\S+.*?) {2,}(\d{3})\b/.exec(line)).filter((m) => m !== null).map((m) => [m[1]!.trim(), m[2]]);
      expect(statuses).toEqual([
        ["POST /api/auth/sign-up/email", "200"],
        ["POST /api/auth/sign-in/email", "200"],
        ["GET  /api/auth/token", "200"],
        ["POST /api/{user}/tasks", "201"],
        ["GET  /api/{user}/tasks", "200"],
        ["GET  /api/someone-else/tasks", "403"],
        ["GET  /api/{user}/tasks, no token", "401"],
      ]);
      expect(demo.stdout).toContain("Every answer was the one expected.");
    }
  });

  it("npm run demo exits 1 with a clear line when nothing answers at GATEWAY", { timeout: 30_000 }, async () => {
    const { ports } = await stackPorts();
    const demo = await run("npm", ["run", "--silent", "demo"], { env: { GATEWAY: `http://127.0.0.1:${ports.gateway}` } });
    expect(demo.code).toBe(1);
    expect(demo.stdout).toMatch(/POST \/api\/auth\/sign-up\/email +✗ .*ECONNREFUSED.*is the stack running\?/);
  });
});
