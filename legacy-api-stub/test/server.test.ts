import http from "node:http";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { lines, listeningPort, runServer } from "./helpers/process.ts";

// src/server.ts as the process `npm run legacy-api` starts: configuration errors, the one
// stdout line, a port already taken, and a clean stop on SIGTERM / SIGINT.

describe("src/server.ts", () => {
  it("exits 1 with one stderr line naming LEGACY_API_PORT when the port is not a number", async () => {
    const run = runServer({ LEGACY_API_PORT: "80a" });
    expect((await run.exited).code).toBe(1);
    expect(lines(run.stderr())).toEqual([expect.stringContaining("LEGACY_API_PORT")]);
    expect(run.stderr()).toContain('"80a"');
    expect(run.stdout()).toBe("");
  });

  it("prints one line with the port actually bound, serves, and exits 0 on SIGTERM", async () => {
    const run = runServer({ LEGACY_API_PORT: "0", LOG_LEVEL: "silent" });
    const port = await listeningPort(run);
    expect(port).toBeGreaterThan(0);
    const answer = await fetch(`http://127.0.0.1:${port}/api/alice/tasks`);
    expect(answer.status).toBe(200);
    run.child.kill("SIGTERM");
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(lines(run.stdout())).toEqual([`legacy-api listening on http://127.0.0.1:${port}`]);
  });

  it("lets a request in flight finish after SIGINT, closes its keep-alive connection, and exits 0", async () => {
    const run = runServer({ LEGACY_API_PORT: "0", LOG_LEVEL: "silent" });
    const port = await listeningPort(run);
    // A keep-alive agent, as a proxy's pool would be: it never drops the connection by itself.
    const agent = new http.Agent({ keepAlive: true, timeout: 60_000 });
    const response = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
      const request = http.request({
        agent, host: "127.0.0.1", port, method: "POST", path: "/api/alice/tasks", headers: { "content-type": "application/json" },
      });
      request.on("response", (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
      });
      request.on("error", reject);
      request.write('{"title": ');
      setTimeout(() => {
        run.child.kill("SIGINT");
        setTimeout(() => request.end('"sent while closing"}'), 300);
      }, 300);
    });
    try {
      const { status, connection, body } = await response;
      expect(status).toBe(201);
      expect(connection).toBe("close");
      expect(JSON.parse(body)).toMatchObject({ title: "sent while closing" });
      const exit = await Promise.race([run.exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 5_000))]);
      expect(exit).toEqual({ code: 0, signal: null });
    } finally {
      agent.destroy();
      run.child.kill("SIGKILL");
    }
  });

  it("exits 1 with one stderr line when the port is already taken", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const run = runServer({ LEGACY_API_PORT: String(port) });
      expect((await run.exited).code).toBe(1);
      expect(lines(run.stderr())).toEqual([`legacy-api: cannot listen on 127.0.0.1:${port}: the port is in use (LEGACY_API_PORT)`]);
      expect(run.stdout()).toBe("");
    } finally {
      blocker.close();
    }
  });
});
