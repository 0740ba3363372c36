/**
 * `npm run bench` as a person types it at the repository root: a short terminal summary (no
 * Markdown tables), one line per scenario, the verdict, and the path of the report as it can
 * be opened from where the command was typed (npm runs the script in bench/, which once made
 * the printed path wrong). A quick one-scenario run: this checks what is printed, not speed.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OUT = `bench/results/cli-test-${process.pid}`;
afterAll(() => rmSync(join(ROOT, OUT), { recursive: true, force: true }));

describe("npm run bench -- --quick", () => {
  it("prints one line per scenario, the verdict and the report's real path, and writes the report there", { timeout: 120_000 }, async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn("npm", ["run", "--silent", "bench", "--", "--quick", "--scenario", "read-hot,reject-flood", "--warmup", "0", "--duration", "0.3", "--out", OUT], {
        cwd: ROOT,
        // npm itself says where it was run (INIT_CWD); an inherited one must not decide the test.
        env: Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "INIT_CWD")),
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.resume();
      child.on("error", reject);
      child.on("exit", (exitCode) => resolve({ code: exitCode, stdout: out }));
    });
    expect(code, stdout).toBe(0);
    const lines = stdout.split("\n").filter(Boolean);
    expect(lines.some((line) => line.includes("|"))).toBe(false);
    expect(lines.length).toBeLessThanOrEqual(10);
    expect(lines.filter((line) => /^bench: (read-hot|reject-flood) +(ok|FAIL) +added p99 /.test(line))).toHaveLength(2);
    expect(lines).toContain("bench: verdict: pass (quick run: the budget is reported, not enforced)");
    const report = /^bench: report: (\S+\.md) /.exec(lines.at(-1) ?? "")?.[1];
    expect(report).toMatch(new RegExp(`^${OUT}/[\\dT:-]+Z\\.md$`));
    expect(existsSync(join(ROOT, report!))).toBe(true);
    expect(readFileSync(join(ROOT, report!), "utf8")).toContain("**Verdict:** pass.");
    expect(existsSync(join(ROOT, report!.replace(/\.md$/, ".svg")))).toBe(true);
  });
});
