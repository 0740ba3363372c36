/**
 * The container image runs the services as `npm run build:services` compiles them, with plain
 * `node` and no TypeScript transpiler. No container engine runs here, so this builds them into
 * a fresh directory laid out as the image's /app (the bundles, the files they read, and a
 * node_modules) and runs them there with the environment docker-compose.yml gives them, only
 * the addresses changed for loopback: the auth-service in production mode on a fresh
 * PostgreSQL database, the gateway reading revocation events from Redis, the stub keeping
 * tasks in a SQLite file.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LISTENING_LINE } from "@todo-gateway/config";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "../../auth-service/test/helpers/postgres.ts";
import { PrivateRedis } from "../../gateway/test/helpers/redis.ts";
import { composeEnvironment } from "./helpers/deploy.ts";
import { ROOT, freePort } from "./helpers/stack.ts";

const SERVICES = ["gateway", "auth-service", "legacy-api"] as const;
const TOOLING = ["tsx", "typescript", "esbuild", "vite", "vitest", "ts-node"];

const root = mkdtempSync(join(tmpdir(), "compiled-build-"));
const bundle = (service: string) => join(root, "dist", "services", `${service}.mjs`);
let buildOutput = "";

beforeAll(() => {
  // What the Dockerfile's build stage runs, with another root.
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/build-services.ts", "--root", root], { cwd: ROOT, encoding: "utf8" });
  buildOutput = `${result.stdout}${result.stderr}`;
  expect(result.status, buildOutput).toBe(0);
  // The image has its production install here; this machine's install stands in for it.
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"), "dir");
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every import in a bundle, as written, read by esbuild's parser. */
async function importsOf(file: string): Promise<string[]> {
  const { metafile } = await build({
    entryPoints: [file], bundle: true, write: false, metafile: true, packages: "external", platform: "node", format: "esm", logLevel: "silent",
  });
  return Object.values(metafile.outputs).flatMap((output) => output.imports.map((imported) => imported.path));
}

describe("npm run build:services", () => {
  it("writes one ES module per service, with the files they read where they look for them", () => {
    for (const service of SERVICES) expect(existsSync(bundle(service)), service).toBe(true);
    expect(readFileSync(join(root, "dist", "default-routes.yaml"), "utf8")).toBe(readFileSync(join(ROOT, "config", "default-routes.yaml"), "utf8"));
    expect(readFileSync(join(root, "web-client", "dist", "index.html"), "utf8")).toBe(readFileSync(join(ROOT, "web-client", "dist", "index.html"), "utf8"));
  });

  it("bundles the workspaces and leaves no TypeScript, no build tool and no path of this machine", async () => {
    for (const service of SERVICES) {
      const imports = await importsOf(bundle(service));
      expect(imports.length, service).toBeGreaterThan(0);
      for (const specifier of imports) {
        const pkg = specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
        expect(TOOLING, `${service} imports ${specifier}`).not.toContain(pkg);
        expect(specifier, service).not.toMatch(/^@todo-gateway\/|\.[cm]?ts$/);
      }
      expect(readFileSync(bundle(service), "utf8")).not.toContain(ROOT);
    }
  });

  it("fails with one line naming the problem when asked for an unknown option", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/build-services.ts", "--out", root], { cwd: ROOT, encoding: "utf8" });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`build:services: usage: npm run build:services [-- --root <dir>] (got: --out ${root})`);
  });
});

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
  readonly output: () => string;
}

/** What .env gives docker-compose.yml (the database password is replaced with the test database). */
const ENV_FILE = { BETTER_AUTH_SECRET: randomBytes(32).toString("hex"), POSTGRES_PASSWORD: "unused-here" };

/**
 * The compose service's environment with `addresses` put in place of the container network's;
 * each of those must be a setting the compose file sets, so nothing else is changed unseen.
 */
function composeEnvWith(service: string, addresses: Record<string, string>): Record<string, string> {
  const env = composeEnvironment(join(ROOT, "docker-compose.yml"), service, ENV_FILE);
  for (const name of Object.keys(addresses)) expect(Object.keys(env), `${service} sets ${name} in docker-compose.yml`).toContain(name);
  return { ...env, ...addresses };
}

/** `node dist/services/<service>.mjs` in the build's root, as the image's CMD runs it: nothing preloaded. */
function startCompiled(service: string, env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [bundle(service)], { cwd: root, env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  createInterface({ input: child.stderr! }).on("line", (line) => (output += `${line}\n`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${service} did not listen within 30 s:\n${output}`)), 30_000);
    void exited.then((code) => reject(new Error(`${service} exited with ${code} before listening:\n${output}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output += `${line}\n`;
      const match = LISTENING_LINE.exec(line);
      if (!match?.[1]?.length || !line.startsWith(`${service} `)) return;
      clearTimeout(timer);
      resolve({ child, url: match[1].replace(/\/+$/, ""), exited, output: () => output });
    });
  });
}

const postgres = await postgresAvailable();

describe.skipIf(!postgres)("the compiled services, run with plain node as docker-compose.yml configures them", () => {
  let database: TestDatabase;
  const redis = new PrivateRedis();
  const running: Running[] = [];
  let gateway: Running;

  beforeAll(async () => {
    [database] = await Promise.all([createTestDatabase(), redis.start()]);
    mkdirSync(join(root, "data"));
    const [authPort, gatewayPort] = [await freePort(), await freePort()];
    const legacy = await startCompiled("legacy-api", composeEnvWith("legacy-api", {
      LEGACY_API_HOST: "127.0.0.1", LEGACY_API_PORT: "0", LEGACY_API_DATABASE: join(root, "data", "tasks.db"),
    }));
    running.push(legacy);
    // One replica, reached directly: auth-lb is HAProxy, run by load-balancer.test.ts.
    const auth = await startCompiled("auth-service", composeEnvWith("auth-service-1", {
      AUTH_HOST: "127.0.0.1", AUTH_PORT: String(authPort), BETTER_AUTH_URL: `http://127.0.0.1:${authPort}`,
      DATABASE_URL: database.url, REDIS_URL: redis.url, GATEWAY_PUBLIC_URL: `http://127.0.0.1:${gatewayPort}`, DATA_DIR: join(root, "data"),
    }));
    running.push(auth);
    gateway = await startCompiled("gateway", composeEnvWith("gateway", {
      GATEWAY_HOST: "127.0.0.1", GATEWAY_PORT: String(gatewayPort), LEGACY_API_URL: legacy.url, AUTH_SERVICE_URL: auth.url, REDIS_URL: redis.url,
    }));
    running.push(gateway);
  }, 90_000);

  afterAll(async () => {
    for (const service of running) if (service.child.exitCode === null) service.child.kill("SIGKILL");
    await redis.stop();
    await database?.drop();
  });

  it("reports ready with its keys, both upstreams and the revocation stream", async () => {
    const response = await fetch(`${gateway.url}/readyz`);
    expect(await response.json()).toMatchObject({ status: "ready", checks: { keys: "ok", "upstream:legacy": "ok", "upstream:auth": "ok", revocations: "ok" } });
    expect(response.status).toBe(200);
  });

  it("serves the web client and proxies the auth-service", async () => {
    const app = await fetch(`${gateway.url}/app/`);
    expect(app.status).toBe(200);
    expect(await app.text()).toBe(readFileSync(join(root, "web-client", "dist", "index.html"), "utf8"));
    const session = await fetch(`${gateway.url}/api/auth/get-session`);
    expect(session.status).toBe(200);
    expect(await session.json()).toBeNull();
  });

  it("carries the README's whole conversation: sign-up, token, tasks, 403 and 401", () => {
    const demo = spawnSync(process.execPath, ["--import", "tsx", "scripts/demo.ts"], {
      cwd: ROOT, env: { PATH: process.env.PATH, GATEWAY: gateway.url }, encoding: "utf8", timeout: 60_000,
    });
    expect(demo.stdout).toContain("Every answer was the one expected.");
    expect(demo.status, `${demo.stdout}${demo.stderr}`).toBe(0);
  });

  it("refuses a protected route without a token", async () => {
    const response = await fetch(`${gateway.url}/api/someone/tasks`);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer realm="todo-gateway"/);
  });

  it("stops each service on SIGTERM with exit code 0, the gateway first", async () => {
    for (const service of [...running].reverse()) {
      service.child.kill("SIGTERM");
      expect(await service.exited, service.output()).toBe(0);
    }
  }, 90_000);
});
