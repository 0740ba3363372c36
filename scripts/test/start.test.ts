import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, startStack as startStackIn } from "./helpers/stack.ts";

const dataDir = mkdtempSync(join(tmpdir(), "start-test-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const startStack = (env: Record<string, string>) => startStackIn(dataDir, env);

async function isListening(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

describe("npm start", () => {
  it("starts the three services, prints their URLs, and stops them all on SIGTERM with exit 0", { timeout: 60_000 }, async () => {
    const ports = { legacy: await freePort(), auth: await freePort(), gateway: await freePort() };
    const stack = startStack({
      LEGACY_API_PORT: String(ports.legacy), AUTH_PORT: String(ports.auth), GATEWAY_PORT: String(ports.gateway),
      BETTER_AUTH_URL: `http://127.0.0.1:${ports.auth}`,
    });
    await stack.up;
    expect(stack.output()).toContain(`gateway (use this)     http://127.0.0.1:${ports.gateway}`);
    expect(stack.output()).toContain(`http://127.0.0.1:${ports.legacy}/api/{user_id}/tasks`);
    const ready = await fetch(`http://127.0.0.1:${ports.gateway}/readyz`);
    expect(ready.status).toBe(200);
    stack.child.kill("SIGTERM");
    expect(await stack.exited).toBe(0);
    for (const port of Object.values(ports)) expect(await isListening(port)).toBe(false);
  });

  it("keeps tasks across a restart, in DATA_DIR/tasks.db beside the accounts", { timeout: 90_000 }, async () => {
    const ports = { legacy: await freePort(), auth: await freePort(), gateway: await freePort() };
    const env = {
      LEGACY_API_PORT: String(ports.legacy), AUTH_PORT: String(ports.auth), GATEWAY_PORT: String(ports.gateway),
      BETTER_AUTH_URL: `http://127.0.0.1:${ports.auth}`,
    };
    const tasksUrl = `http://127.0.0.1:${ports.legacy}/api/restart-test/tasks`;
    const first = startStack(env);
    await first.up;
    expect(first.output()).toContain(`(tasks kept in ${join(dataDir, "tasks.db")})`);
    const created = await fetch(tasksUrl, { method: "POST", headers: { "content-type": "application/json" }, body: '{"title":"survive a restart"}' });
    expect(created.status).toBe(201);
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    const second = startStack(env);
    await second.up;
    const listed = (await (await fetch(tasksUrl)).json()) as { title: string }[];
    expect(listed.map((task) => task.title)).toEqual(["survive a restart"]);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("stops the services already started and exits non-zero when one cannot start", { timeout: 60_000 }, async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const taken = (blocker.address() as AddressInfo).port;
    const ports = { legacy: await freePort(), auth: await freePort() };
    try {
      const stack = startStack({
        LEGACY_API_PORT: String(ports.legacy), AUTH_PORT: String(ports.auth), GATEWAY_PORT: String(taken),
        BETTER_AUTH_URL: `http://127.0.0.1:${ports.auth}`,
      });
      expect(await stack.exited).toBe(1);
      expect(stack.output()).toMatch(/gateway: cannot listen on 127\.0\.0\.1:\d+/);
      expect(stack.output()).toContain("start: gateway exited with code 1 before listening; stopping the other services");
      expect(await isListening(ports.legacy)).toBe(false);
      expect(await isListening(ports.auth)).toBe(false);
    } finally {
      blocker.close();
    }
  });
});
