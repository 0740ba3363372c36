/**
 * One log shape for the three services, seen as an operator sees it on `npm start`: every line
 * each service writes is the same pino JSON (numeric `level`, `time` in ms, `pid`, `hostname`,
 * `service`, `msg`), every line written for a request carries the id the gateway sent, and no
 * line at info holds an e-mail address, a password or a token.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "log-shape-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the services' logs on npm start", () => {
  it("share one JSON shape, carry the gateway's request id, and hold no e-mail or token", { timeout: 60_000 }, async () => {
    const ports = { legacy: await freePort(), auth: await freePort(), gateway: await freePort() };
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
      cwd: root,
      env: {
        PATH: process.env.PATH, DATA_DIR: dataDir, LOG_LEVEL: "info", LOG_FORMAT: "json",
        LEGACY_API_PORT: String(ports.legacy), AUTH_PORT: String(ports.auth), GATEWAY_PORT: String(ports.gateway),
        BETTER_AUTH_URL: `http://127.0.0.1:${ports.auth}`, GATEWAY_PUBLIC_URL: `http://127.0.0.1:${ports.gateway}`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((resolve) => child.on("exit", resolve));
    try {
      const deadline = Date.now() + 40_000;
      while (!output.includes("Press Ctrl-C to stop.") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const gateway = `http://127.0.0.1:${ports.gateway}`;
      const email = `logs-${randomBytes(4).toString("hex")}@example.test`;
      const password = "correct horse battery staple";
      const origin = { "content-type": "application/json", origin: gateway };
      const signUp = await fetch(`${gateway}/api/auth/sign-up/email`, { method: "POST", headers: { ...origin, "x-request-id": "log-shape-signup" }, body: JSON.stringify({ email, password, name: "L" }) });
      const { token: session, user } = (await signUp.json()) as { token: string; user: { id: string } };
      // Signing up again makes Better Auth log about the existing address (at info).
      await fetch(`${gateway}/api/auth/sign-up/email`, { method: "POST", headers: origin, body: JSON.stringify({ email, password, name: "L" }) });
      const { token: jwt } = (await (await fetch(`${gateway}/api/auth/token`, { headers: { authorization: `Bearer ${session}` } })).json()) as { token: string };
      const created = await fetch(`${gateway}/api/${user.id}/tasks`, {
        method: "POST", headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json", "x-request-id": "log-shape-task" }, body: '{"title":"t"}',
      });
      expect(created.status).toBe(201);
    } finally {
      child.kill("SIGTERM");
      await exited;
    }

    const entries = output.split("\n").flatMap((line) => {
      const match = /^\[(legacy-api|auth-service|gateway)\] (\{.*\})$/.exec(line);
      return match ? [{ service: match[1]!, entry: JSON.parse(match[2]!) as Record<string, unknown> }] : [];
    });
    for (const name of ["legacy-api", "auth-service", "gateway"]) expect(entries.some((e) => e.service === name)).toBe(true);
    for (const { service, entry } of entries) {
      expect({ service, level: typeof entry.level, time: typeof entry.time, pid: typeof entry.pid, msg: typeof entry.msg, svc: entry.service })
        .toEqual({ service, level: "number", time: "number", pid: "number", msg: "string", svc: service });
    }
    // The task's request, followed through the gateway to the task API by its id.
    const traced = (id: string) => new Set(entries.filter((e) => e.entry.reqId === id).map((e) => e.service));
    expect(traced("log-shape-task")).toEqual(new Set(["gateway", "legacy-api"]));
    expect(traced("log-shape-signup")).toEqual(new Set(["gateway", "auth-service"]));
    const text = entries.map((e) => JSON.stringify(e.entry)).join("\n");
    expect(text).not.toMatch(/logs-[0-9a-f]{8}@example\.test/);
    // Better Auth did mention the address, masked where redaction cannot reach (inside its message).
    expect(text).toContain("[email]");
    expect(text).not.toContain("correct horse");
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./); // no JWT
  });
});
