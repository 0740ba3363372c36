import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JwksServer, createSigningKey, type SigningKey } from "../helpers/keys.ts";
import { mintToken, ISSUER, AUDIENCE } from "../helpers/tokens.ts";
import { RecordingUpstream } from "../helpers/upstream.ts";
import { NOW_S } from "../helpers/clock.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "gateway/src/server.ts"], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${stderr}`)), 15_000);
    child.stdout.on("data", () => {
      const match = /gateway listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  // A test of a process that must not listen never awaits this: its timeout must not surface
  // later as an unhandled rejection that fails the whole run.
  listening.catch(() => undefined);
  return { child, exited, listening, output: () => ({ stdout, stderr }) };
}

let key: SigningKey;
let jwks: JwksServer;
let upstream: RecordingUpstream;
beforeAll(async () => {
  key = await createSigningKey();
  jwks = await new JwksServer([key]).start();
  upstream = await new RecordingUpstream().start();
});
afterAll(async () => {
  await jwks.stop();
  await upstream.stop();
});

describe("the gateway process", () => {
  it("stops before listening with one line per bad variable and a non-zero exit", async () => {
    const server = startServer({ GATEWAY_PORT: "80a", JWT_ALGORITHMS: "HS256" });
    expect(await server.exited).toBe(1);
    const lines = server.output().stderr.trim().split("\n");
    expect(lines.sort()).toEqual([
      "gateway: configuration error: BETTER_AUTH_SECRET: is required when JWT_ALGORITHMS lists an HS* algorithm",
      'gateway: configuration error: GATEWAY_PORT: "80a" is not a port (0-65535)',
    ]);
    expect(server.output().stdout).not.toContain("listening");
  });

  it("finishes in-flight requests on SIGTERM, then exits 0", async () => {
    const server = startServer({
      GATEWAY_PORT: "0", JWKS_URL: jwks.url, LEGACY_API_URL: upstream.url, AUTH_SERVICE_URL: upstream.url,
      JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, LOG_LEVEL: "silent",
    });
    const url = await server.listening;
    // The process uses the real clock, so mint against it.
    const now = Math.floor(Date.now() / 1000);
    const token = await mintToken({ key, sub: "user-1", iat: now });
    expect(now).toBeGreaterThan(NOW_S - 10 ** 9);
    upstream.delayMs = 700;
    const inFlight = fetch(`${url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.child.kill("SIGTERM");
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await server.exited).toBe(0);
    upstream.delayMs = 0;
  });

  it("writes one JSON line per request to stdout, all of them flushed by a clean stop", async () => {
    const server = startServer({
      GATEWAY_PORT: "0", JWKS_URL: jwks.url, LEGACY_API_URL: upstream.url, AUTH_SERVICE_URL: upstream.url,
      JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, LOG_LEVEL: "info",
    });
    const url = await server.listening;
    const token = await mintToken({ key, sub: "user-1", iat: Math.floor(Date.now() / 1000) });
    for (let i = 0; i < 25; i++) {
      await fetch(`${url}/api/user-1/tasks`, { headers: { authorization: `Bearer ${token}`, "x-request-id": `line-${i}` } });
    }
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    const lines = server.output().stdout.split("\n").filter((line) => line.startsWith("{"));
    const requests = lines.map((line) => JSON.parse(line) as { msg: string; reqId: string; status: number }).filter((entry) => entry.msg === "request");
    expect(requests.map((entry) => entry.reqId)).toEqual(Array.from({ length: 25 }, (_, i) => `line-${i}`));
    expect(requests.every((entry) => entry.status === 200)).toBe(true);
    expect(server.output().stdout).not.toContain(token.split(".")[2]!);
  });

  it("re-reads the route table on SIGHUP, and keeps the old one when the new file is bad", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sighup-"));
    const file = join(dir, "routes.yaml");
    const table = (routes: string) => `upstreams:\n  up: { url: "${upstream.url}" }\nroutes:\n${routes}`;
    writeFileSync(file, table(`  - { name: one, methods: [GET], path: /one, upstream: up, auth: none }`));
    const server = startServer({ GATEWAY_PORT: "0", GATEWAY_CONFIG: file, JWKS_URL: jwks.url, LOG_LEVEL: "silent" });
    try {
      const url = await server.listening;
      expect((await fetch(`${url}/one`)).status).toBe(200);
      expect((await fetch(`${url}/two`)).status).toBe(404);

      writeFileSync(file, table(`  - { name: two, methods: [GET], path: /two, upstream: up, auth: none }`));
      server.child.kill("SIGHUP");
      await waitFor(async () => (await fetch(`${url}/two`)).status === 200);
      expect((await fetch(`${url}/one`)).status).toBe(404);

      writeFileSync(file, table(`  - { name: three, methods: [GET], path: /three, upstream: nowhere, auth: none }`));
      server.child.kill("SIGHUP");
      await waitFor(async () => server.output().stderr.includes("route table reload refused"));
      expect(server.output().stderr).toContain(`gateway: route table reload refused: ${file}: routes[0].upstream: "nowhere" is not a declared upstream (up)`);
      expect((await fetch(`${url}/two`)).status).toBe(200);
      expect((await fetch(`${url}/three`)).status).toBe(404);
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("condition not met in time");
}
