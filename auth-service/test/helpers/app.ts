import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAuthServiceConfig, type AuthServiceConfig } from "@todo-gateway/config";
import { buildApp, type AuthServiceApp, type BuildAppOptions } from "../../src/app.ts";
import { createLogger } from "../../src/log.ts";

/** The trusted origin test requests carry (fetch sends sec-fetch-mode, so Better Auth checks it). */
export const TEST_ORIGIN = "http://127.0.0.1:8080";

export interface TestApp {
  readonly app: AuthServiceApp;
  readonly url: string;
  readonly config: AuthServiceConfig;
  readonly dataDir: string;
  close(): Promise<void>;
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), "auth-service-test-"));
}

/** A configuration as the loader would build it from this environment (NODE_ENV=test, a strong secret, a temp DATA_DIR). */
export function testConfig(env: Record<string, string | undefined> = {}, dataDir = tempDataDir()): AuthServiceConfig {
  return loadAuthServiceConfig({
    NODE_ENV: "test",
    BETTER_AUTH_SECRET: randomBytes(32).toString("hex"),
    DATA_DIR: dataDir,
    AUTH_PORT: "0",
    BETTER_AUTH_URL: "http://127.0.0.1:3001",
    LOG_LEVEL: "silent",
    ...env,
  });
}

/** Builds, migrates and listens on port 0; `close()` also removes the temp data folder. */
export async function startTestApp(env: Record<string, string | undefined> = {}, options: BuildAppOptions = {}): Promise<TestApp> {
  const dataDir = tempDataDir();
  const config = testConfig(env, dataDir);
  const app = await buildApp(config, { logger: createLogger("silent"), ...options });
  try {
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    return {
      app,
      url,
      config,
      dataDir,
      close: async () => {
        await app.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** A user agent against the service: keeps the session cookie, sends the trusted origin. */
export class Client {
  cookie: string | undefined;
  bearer: string | undefined;

  constructor(readonly base: string) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const all: Record<string, string> = { origin: TEST_ORIGIN, ...headers };
    if (body !== undefined) all["content-type"] = "application/json";
    if (this.cookie !== undefined) all.cookie = this.cookie;
    if (this.bearer !== undefined) all.authorization = `Bearer ${this.bearer}`;
    const res = await fetch(`${this.base}${path}`, { method, headers: all, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
    const session = res.headers.getSetCookie().find((c) => c.startsWith("better-auth.session_token="));
    if (session !== undefined) {
      const pair = session.split(";")[0]!;
      this.cookie = pair.endsWith("=") ? undefined : pair;
    }
    return res;
  }

  get(path: string, headers?: Record<string, string>): Promise<Response> {
    return this.request("GET", path, undefined, headers);
  }

  post(path: string, body: unknown = {}, headers?: Record<string, string>): Promise<Response> {
    return this.request("POST", path, body, headers);
  }

  async signUp(email: string, password = "correct horse battery staple", name = "Test User"): Promise<{ userId: string; token: string }> {
    const res = await this.post("/api/auth/sign-up/email", { email, password, name });
    if (res.status !== 200) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { token: string; user: { id: string } };
    return { userId: body.user.id, token: body.token };
  }

  /** `GET /api/auth/token` → the JWT. */
  async jwt(): Promise<string> {
    const res = await this.get("/api/auth/token");
    if (res.status !== 200) throw new Error(`token failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { token: string }).token;
  }
}

let counter = 0;
export function uniqueEmail(prefix = "user"): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}@example.test`;
}

/** Counts rows of a Better Auth model, through the app's own adapter. */
export async function countRows(app: AuthServiceApp, model: "user" | "session" | "account" | "jwks"): Promise<number> {
  const context = await app.auth.$context;
  return context.adapter.count({ model });
}
