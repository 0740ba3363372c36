/**
 * The real entry point in a child process: the start-up lines, graceful shutdown on SIGTERM,
 * one-line failures with exit 1, and a restart that keeps the development secret, the
 * earlier session and the signing key.
 */
import { createServer } from "node:net";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { Client, tempDataDir, uniqueEmail } from "./helpers/app.ts";
import { runServer } from "./helpers/process.ts";

const dirs: string[] = [];
function dataDir(): string {
  const dir = tempDataDir();
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("server.ts", () => {
  it("prints its address and claims, keeps the development secret across a restart, and stops cleanly on SIGTERM", async () => {
    const dir = dataDir();
    const env = { NODE_ENV: "development", DATA_DIR: dir, AUTH_PORT: "0" };
    const first = runServer(env);
    const url = await first.ready;
    expect(first.stdout).toMatch(/^auth-service listening on http:\/\/127\.0\.0\.1:\d+$/m);
    expect(first.stdout).toMatch(/^auth-service tokens: iss=http:\/\/127\.0\.0\.1:0 aud=http:\/\/127\.0\.0\.1:0 alg=EdDSA /m);
    expect(first.stdout).toMatch(/^auth-service revocations: feed=http:\/\/127\.0\.0\.1:\d+\/internal\/revocations redis=off$/m);
    expect(first.stderr).toMatch(/auth-service: warning: BETTER_AUTH_SECRET is unset; generated a development secret in .*auth-secret/);

    const client = new Client(url);
    await client.signUp(uniqueEmail("restart"));
    const token = await client.jwt();
    // SIGTERM while a sign-in (≈100 ms of scrypt) is in flight: it still completes.
    const inFlight = new Client(url).post("/api/auth/sign-in/email", { email: "nobody@example.test", password: "whatever 12345" });
    await new Promise((r) => setTimeout(r, 20));
    first.child.kill("SIGTERM");
    expect((await inFlight).status).toBe(401);
    expect(await first.exited).toBe(0);

    const second = runServer(env);
    const url2 = await second.ready;
    expect(second.stderr).toMatch(/using the development secret in/);
    const again = new Client(url2);
    again.cookie = client.cookie;
    const token2 = await again.jwt();
    const jwks = (await (await fetch(`${url2}/api/auth/jwks`)).json()) as JSONWebKeySet;
    const local = createLocalJWKSet(jwks);
    const opts = { issuer: "http://127.0.0.1:0", audience: "http://127.0.0.1:0" };
    const before = await jwtVerify(token, local, opts);
    const after = await jwtVerify(token2, local, opts);
    expect(after.protectedHeader.kid).toBe(before.protectedHeader.kid);
    expect(after.payload.sid).toBe(before.payload.sid);
    second.child.kill("SIGINT");
    expect(await second.exited).toBe(0);
  });

  it("exits 1 with one line when the database is unreachable", async () => {
    const proc = runServer({ NODE_ENV: "test", DATA_DIR: dataDir(), AUTH_PORT: "0", DATABASE_URL: "postgres://postgres@127.0.0.1:9/nothing" });
    expect(await proc.exited).toBe(1);
    const lines = proc.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^auth-service: database unreachable: PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:9\/nothing \(DATABASE_URL\)/);
  });

  it("exits 1 with one line for a weak secret outside development", async () => {
    const proc = runServer({ NODE_ENV: "production", DATA_DIR: dataDir(), BETTER_AUTH_SECRET: "a".repeat(40) });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr.trim()).toMatch(/^auth-service: configuration error: BETTER_AUTH_SECRET: looks low-entropy/);
    expect(proc.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("exits 1 with one line naming REDIS_URL, without its password, when it is not a Redis URL", async () => {
    const proc = runServer({ NODE_ENV: "test", DATA_DIR: dataDir(), AUTH_PORT: "0", REDIS_URL: "https://:hunter2@cache.example:6379" });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr.trim()).toBe("auth-service: configuration error: REDIS_URL: must be a redis:// or rediss:// URL");
  });

  it("exits 1 with one line when the port is in use", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const proc = runServer({ NODE_ENV: "test", DATA_DIR: dataDir(), AUTH_PORT: String(port) });
      expect(await proc.exited).toBe(1);
      expect(proc.stderr.trim()).toBe(`auth-service: cannot listen on 127.0.0.1:${port}: the port is in use (AUTH_PORT)`);
    } finally {
      blocker.close();
    }
  });

  it("refuses to start with one line when BETTER_AUTH_SECRET cannot decrypt the stored signing keys", async () => {
    const dir = dataDir();
    const env = { NODE_ENV: "production", DATA_DIR: dir, AUTH_PORT: "0" };
    const first = runServer({ ...env, BETTER_AUTH_SECRET: "0123456789abcdef0123456789abcdef-first-secret" });
    await first.ready;
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    // Same database, another secret: every /token would answer 500 while every probe passed.
    const second = runServer({ ...env, BETTER_AUTH_SECRET: "fedcba9876543210fedcba9876543210-other-secret" });
    expect(await second.exited).toBe(1);
    expect(second.stdout).not.toContain("listening");
    const lines = second.stderr.trim().split("\n");
    expect(lines).toEqual(["auth-service: cannot use the stored signing keys: BETTER_AUTH_SECRET differs from the one they were encrypted with"]);
  });

  it("creates the SQLite folder and reuses the schema on a second start", async () => {
    const dir = dataDir();
    // A fixed secret: test mode's per-process one could not decrypt the first start's key.
    const env = { NODE_ENV: "test", DATA_DIR: dir, AUTH_PORT: "0", DATABASE_URL: join(dir, "nested", "deeper", "auth.db"), BETTER_AUTH_SECRET: "0123456789abcdef0123456789abcdef-schema-reuse" };
    for (let i = 0; i < 2; i++) {
      const proc = runServer(env);
      const url = await proc.ready;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      proc.child.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
    }
  });
});
