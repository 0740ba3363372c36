import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/errors.ts";
import { estimateSecretEntropyBits, loadAuthServiceConfig } from "../src/auth-service.ts";

const SECRET = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const CWD = "/srv/app";

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadAuthServiceConfig(env, { cwd: CWD });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("loadAuthServiceConfig", () => {
  it("has the documented defaults and is frozen", () => {
    const config = loadAuthServiceConfig({}, { cwd: CWD });
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 3001,
      baseUrl: "http://127.0.0.1:3001",
      nodeEnv: "development",
      secret: undefined,
      database: { kind: "sqlite", path: "/srv/app/.data/auth.db" },
      dataDir: "/srv/app/.data",
      gatewayPublicUrl: "http://127.0.0.1:8080",
      rateLimit: false,
      jwt: {
        algorithm: "EdDSA", lifetimeS: 900, issuer: "http://127.0.0.1:3001", audience: "http://127.0.0.1:3001",
        rotationIntervalS: 0, rotationGraceS: 86_400, rotationLeadS: 600,
      },
      redisUrl: undefined,
      logLevel: "info",
    });
    expect(config.trustedOrigins).toEqual(["http://127.0.0.1:8080", "http://localhost:8080"]);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.jwt)).toBe(true);
    expect(Object.isFrozen(config.trustedOrigins)).toBe(true);
  });

  it("derives the base URL from AUTH_PORT and iss / aud from the base URL's origin", () => {
    expect(loadAuthServiceConfig({ AUTH_PORT: "4000" }, { cwd: CWD }).baseUrl).toBe("http://127.0.0.1:4000");
    const config = loadAuthServiceConfig({ BETTER_AUTH_URL: "https://auth.example.com/base/" }, { cwd: CWD });
    expect(config.baseUrl).toBe("https://auth.example.com/base");
    expect(config.jwt.issuer).toBe("https://auth.example.com");
    expect(config.jwt.audience).toBe("https://auth.example.com");
    const explicit = loadAuthServiceConfig({ JWT_ISSUER: "https://id.example", JWT_AUDIENCE: "todo-gateway" }, { cwd: CWD });
    expect(explicit.jwt).toMatchObject({ issuer: "https://id.example", audience: "todo-gateway" });
  });

  it("chooses the database from DATABASE_URL", () => {
    const load = (DATABASE_URL: string) => loadAuthServiceConfig({ DATABASE_URL }, { cwd: CWD }).database;
    expect(load("postgres://u:p@db:5432/auth")).toEqual({ kind: "postgres", url: "postgres://u:p@db:5432/auth" });
    expect(load("postgresql://db/auth")).toEqual({ kind: "postgres", url: "postgresql://db/auth" });
    expect(load("data/x.db")).toEqual({ kind: "sqlite", path: "/srv/app/data/x.db" });
    expect(load("/var/lib/auth.db")).toEqual({ kind: "sqlite", path: "/var/lib/auth.db" });
    expect(load("file:///var/lib/a.db")).toEqual({ kind: "sqlite", path: "/var/lib/a.db" });
    expect(loadAuthServiceConfig({ DATA_DIR: "state" }, { cwd: CWD }).database).toEqual({ kind: "sqlite", path: "/srv/app/state/auth.db" });
  });

  it("refuses an unknown database scheme without echoing the URL", () => {
    const lines = problems({ DATABASE_URL: "mysql://root:hunter2@db/auth" });
    expect(lines).toEqual(["DATABASE_URL: must be postgres://…, postgresql://… or a SQLite file path"]);
  });

  it("requires BETTER_AUTH_SECRET outside development and test", () => {
    expect(problems({ NODE_ENV: "production" })).toEqual([
      "BETTER_AUTH_SECRET: is required when NODE_ENV is production (generate one with: openssl rand -hex 32)",
    ]);
    expect(loadAuthServiceConfig({ NODE_ENV: "test" }, { cwd: CWD }).secret).toBeUndefined();
    expect(loadAuthServiceConfig({ NODE_ENV: "production", BETTER_AUTH_SECRET: SECRET }, { cwd: CWD })).toMatchObject({ secret: SECRET, rateLimit: true });
  });

  it("refuses a short or low-entropy secret outside development, one line each", () => {
    expect(problems({ NODE_ENV: "production", BETTER_AUTH_SECRET: "short-secret" })).toEqual([
      "BETTER_AUTH_SECRET: is 12 characters; at least 32 are required (openssl rand -hex 32)",
    ]);
    expect(problems({ NODE_ENV: "test", BETTER_AUTH_SECRET: "ab".repeat(30) })).toEqual([
      "BETTER_AUTH_SECRET: looks low-entropy (too few distinct characters); use a random value such as: openssl rand -hex 32",
    ]);
    // Development accepts it (the service may warn).
    expect(loadAuthServiceConfig({ BETTER_AUTH_SECRET: "dev" }, { cwd: CWD }).secret).toBe("dev");
    expect(estimateSecretEntropyBits(SECRET)).toBeGreaterThanOrEqual(120);
  });

  it("reads the JWT and rotation settings and checks how they fit together", () => {
    const config = loadAuthServiceConfig(
      { JWT_ALGORITHM: "ES256", JWT_LIFETIME_S: "300", JWT_ROTATION_INTERVAL_S: "86400", JWT_ROTATION_LEAD_S: "900", JWT_ROTATION_GRACE_S: "3600" },
      { cwd: CWD },
    );
    expect(config.jwt).toMatchObject({ algorithm: "ES256", lifetimeS: 300, rotationIntervalS: 86_400, rotationLeadS: 900, rotationGraceS: 3600 });
    expect(problems({ JWT_ALGORITHM: "HS256" })).toEqual(["JWT_ALGORITHM: \"HS256\" is not one of EdDSA, ES256, ES512, RS256, PS256"]);
    expect(problems({ JWT_ROTATION_INTERVAL_S: "300", JWT_ROTATION_LEAD_S: "600" })[0]).toMatch(/^JWT_ROTATION_LEAD_S: 600 must be shorter than JWT_ROTATION_INTERVAL_S \(300\)/);
    expect(problems({ JWT_ROTATION_INTERVAL_S: "300", JWT_ROTATION_LEAD_S: "9" })).toEqual([
      "JWT_ROTATION_LEAD_S: 9 is too short: gateways may not have fetched a new key before it signs; use at least 10",
    ]);
    expect(loadAuthServiceConfig({ JWT_ROTATION_INTERVAL_S: "11", JWT_ROTATION_LEAD_S: "10" }, { cwd: CWD }).jwt.rotationLeadS).toBe(10);
    expect(problems({ JWT_ROTATION_GRACE_S: "60" })[0]).toMatch(/^JWT_ROTATION_GRACE_S: 60 is shorter than JWT_LIFETIME_S \(900\)/);
    expect(problems({ JWT_LIFETIME_S: "15m" })).toEqual(["JWT_LIFETIME_S: \"15m\" is not a whole number"]);
    expect(problems({ JWT_ISSUER: " " })).toEqual(["JWT_ISSUER: must not be empty (the gateway checks it on every token)"]);
  });

  it("with rotation on, keeps a retired key published for as long as a revocation event it signed is kept", () => {
    const rotating = { JWT_ROTATION_INTERVAL_S: "3600", JWT_ROTATION_LEAD_S: "600", JWT_LIFETIME_S: "900" };
    expect(problems({ ...rotating, JWT_ROTATION_GRACE_S: "959" })).toEqual([
      "JWT_ROTATION_GRACE_S: 959 is shorter than JWT_LIFETIME_S + 60 (960): revocation events signed just before a rotation would stop verifying while gateways still need them",
    ]);
    expect(loadAuthServiceConfig({ ...rotating, JWT_ROTATION_GRACE_S: "960" }, { cwd: CWD }).jwt.rotationGraceS).toBe(960);
    // Without rotation no key retires, so only the token lifetime bounds it.
    expect(loadAuthServiceConfig({ JWT_LIFETIME_S: "900", JWT_ROTATION_GRACE_S: "900" }, { cwd: CWD }).jwt.rotationGraceS).toBe(900);
    // The default grace always fits, even for the longest token lifetime.
    const longest = loadAuthServiceConfig({ ...rotating, JWT_ROTATION_INTERVAL_S: "172800", JWT_LIFETIME_S: "86400" }, { cwd: CWD });
    expect(longest.jwt.rotationGraceS).toBe(86_460);
  });

  it("reads REDIS_URL, and refuses a bad one in one line that never echoes it", () => {
    expect(loadAuthServiceConfig({ REDIS_URL: "redis://127.0.0.1:6379" }, { cwd: CWD }).redisUrl).toBe("redis://127.0.0.1:6379");
    expect(loadAuthServiceConfig({ REDIS_URL: "rediss://:s3cret@cache.example:6380/2" }, { cwd: CWD }).redisUrl).toBe("rediss://:s3cret@cache.example:6380/2");
    expect(loadAuthServiceConfig({ REDIS_URL: "" }, { cwd: CWD }).redisUrl).toBeUndefined();
    const cases: Array<[string, string]> = [
      ["http://:hunter2@cache.example:6379", "REDIS_URL: must be a redis:// or rediss:// URL"],
      ["redis//:hunter2@cache.example", "REDIS_URL: is not a valid URL (expected redis://[user:password@]host[:port][/db] or rediss://…)"],
      ["redis://:hunter2@cache.example:99999", "REDIS_URL: is not a valid URL (expected redis://[user:password@]host[:port][/db] or rediss://…)"],
      ["redis://:hunter2@cache.example/hunter2", "REDIS_URL: has a path that is not a database number (redis://host:6379/0)"],
    ];
    for (const [value, line] of cases) {
      const lines = problems({ REDIS_URL: value });
      expect(lines, value).toEqual([line]);
      expect(lines.join("\n")).not.toContain("hunter2");
    }
  });

  it("trusts TRUSTED_ORIGINS plus the gateway's public origin", () => {
    const config = loadAuthServiceConfig({ TRUSTED_ORIGINS: "https://app.example.com/, https://*.example.org", GATEWAY_PUBLIC_URL: "https://todo.example.com/api" }, { cwd: CWD });
    expect(config.trustedOrigins).toEqual(["https://app.example.com", "https://*.example.org", "https://todo.example.com"]);
    expect(problems({ TRUSTED_ORIGINS: "not an origin" })).toEqual(["TRUSTED_ORIGINS: \"not an origin\" is not an origin such as https://app.example.com"]);
  });

  it("collects every problem at once", () => {
    expect(problems({ AUTH_PORT: "99999", NODE_ENV: "staging", LOG_LEVEL: "loud", BETTER_AUTH_URL: "ftp://x" })).toEqual([
      "NODE_ENV: \"staging\" is not one of development, test, production",
      "AUTH_PORT: \"99999\" is not a port (0-65535)",
      "BETTER_AUTH_URL: \"ftp://x\" must use http or https",
      "LOG_LEVEL: \"loud\" is not one of fatal, error, warn, info, debug, trace, silent",
    ]);
  });
});

describe("auth-service origins", () => {
  it("trusts the gateway's CORS_ORIGINS, so cross-origin web apps can sign in", () => {
    const config = loadAuthServiceConfig({ NODE_ENV: "test", CORS_ORIGINS: "https://app.example.com" });
    expect(config.trustedOrigins).toContain("https://app.example.com");
    expect(config.trustedOrigins).toContain("http://127.0.0.1:8080");
  });
});
