import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_ROUTE_TABLE_FILE, loadGatewayConfig } from "../src/index.ts";

const MINTING_TABLE = join(mkdtempSync(join(tmpdir(), "gateway-config-")), "mint.yaml");
writeFileSync(MINTING_TABLE, [
  "upstreams:", "  up: { url: \"http://127.0.0.1:9\" }", "routes:",
  "  - { name: m, methods: [GET], path: \"/m/{user_id}\", upstream: up, owner: sub == user_id, credentials: { mint: { secretEnv: UPSTREAM_SECRET } } }",
].join("\n"));

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadGatewayConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error("expected a ConfigError");
}

describe("gateway configuration", () => {
  it("has the defaults of docs/behaviour.md §2.1", () => {
    const config = loadGatewayConfig({});
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      routeTableFile: DEFAULT_ROUTE_TABLE_FILE,
      routeTable: { upstreams: { legacy: { url: "http://127.0.0.1:8000", timeoutMs: 10_000 }, auth: { url: "http://127.0.0.1:3001", timeoutMs: 10_000 } } },
      jwt: {
        algorithms: ["EdDSA"], jwksUrl: "http://127.0.0.1:3001/api/auth/jwks", hmacSecret: undefined,
        issuer: "http://127.0.0.1:3001", audience: "http://127.0.0.1:3001", clockToleranceS: 5, maxTokenBytes: 8192,
      },
      bodyLimitBytes: 1024 * 1024,
      logLevel: "info",
    });
    expect(config.routeTable.routes.map((route) => route.name)).toEqual([
      "healthz", "readyz", "metrics", "root", "app.redirect", "app.index", "app.files", "auth",
      "tasks.list", "tasks.create", "tasks.get", "tasks.update", "tasks.delete", "tasks.complete",
    ]);
    expect(config.routeTable.routes.find((route) => route.name === "tasks.get")).toMatchObject({
      path: "/api/{user_id}/tasks/{id}", methods: ["GET"], auth: "jwt", owner: { claim: "sub", param: "user_id" },
      target: { kind: "upstream", upstream: "legacy" }, credentials: { kind: "forward" },
    });
  });

  it("derives the JWKS URL, issuer and audience from AUTH_SERVICE_URL", () => {
    const config = loadGatewayConfig({ AUTH_SERVICE_URL: "http://auth.internal:9000/" });
    expect(config.jwt.jwksUrl).toBe("http://auth.internal:9000/api/auth/jwks");
    expect(config.jwt.issuer).toBe("http://auth.internal:9000");
  });

  it("disables the iss or aud check with an empty string", () => {
    const config = loadGatewayConfig({ JWT_ISSUER: "", JWT_AUDIENCE: "" });
    expect(config.jwt.issuer).toBeUndefined();
    expect(config.jwt.audience).toBeUndefined();
  });

  it("accepts HS256 alone with a long enough secret and then needs no JWKS", () => {
    const config = loadGatewayConfig({ JWT_ALGORITHMS: "HS256", BETTER_AUTH_SECRET: "x".repeat(32) });
    expect(config.jwt.jwksUrl).toBeUndefined();
    expect(config.jwt.hmacSecret).toBe("x".repeat(32));
  });

  it("is frozen, deeply", () => {
    const config = loadGatewayConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.jwt.algorithms)).toBe(true);
    expect(Object.isFrozen(config.routeTable.upstreams.legacy)).toBe(true);
    expect(Object.isFrozen(config.routeTable.routes[0])).toBe(true);
  });

  it.each([
    [{ GATEWAY_PORT: "80a" }, 'GATEWAY_PORT: "80a" is not a port (0-65535)'],
    [{ GATEWAY_PORT: "70000" }, 'GATEWAY_PORT: "70000" is not a port (0-65535)'],
    [{ LEGACY_API_URL: "not a url" }, 'LEGACY_API_URL: "not a url" is not an absolute URL'],
    [{ AUTH_SERVICE_URL: "ftp://x" }, 'AUTH_SERVICE_URL: "ftp://x" must use http or https'],
    [{ JWKS_URL: "http://u:p@x/jwks" }, "JWKS_URL: must not carry credentials in the URL"],
    [{ JWT_ALGORITHMS: "EdDSA,none" }, 'JWT_ALGORITHMS: "none" not supported'],
    [{ JWT_ALGORITHMS: " , " }, "JWT_ALGORITHMS: must list at least one algorithm"],
    [{ JWT_ALGORITHMS: "HS256" }, "BETTER_AUTH_SECRET: is required when JWT_ALGORITHMS lists an HS* algorithm"],
    [{ JWT_ALGORITHMS: "HS256", BETTER_AUTH_SECRET: "short" }, "BETTER_AUTH_SECRET: must be at least 32 bytes"],
    [{ JWT_CLOCK_TOLERANCE_S: "-1" }, 'JWT_CLOCK_TOLERANCE_S: "-1" is not a whole number'],
    [{ UPSTREAM_TIMEOUT_MS: "0" }, "UPSTREAM_TIMEOUT_MS: 0 is out of range"],
    [{ UPSTREAM_TIMEOUT_MS: "10s" }, 'UPSTREAM_TIMEOUT_MS: "10s" is not a whole number'],
    [{ STRIP_AUTHORIZATION: "maybe" }, 'STRIP_AUTHORIZATION: "maybe" is not a boolean'],
    [{ LOG_LEVEL: "loud" }, 'LOG_LEVEL: "loud" is not one of'],
    [{ MAX_HEADER_COUNT: "5" }, "MAX_HEADER_COUNT: 5 is out of range (10-1000)"],
    [{ MAX_CONNECTIONS: "0" }, "MAX_CONNECTIONS: 0 is out of range"],
    [{ BODY_MEMORY_LIMIT_MB: "lots" }, 'BODY_MEMORY_LIMIT_MB: "lots" is not a whole number'],
    [{ REQUEST_TIMEOUT_MS: "5000", HEADERS_TIMEOUT_MS: "9000" }, "HEADERS_TIMEOUT_MS: 9000 must not exceed REQUEST_TIMEOUT_MS (5000)"],
    [{ SHUTDOWN_TIMEOUT_S: "0" }, "SHUTDOWN_TIMEOUT_S: 0 is out of range (1-3600)"],
    [{ UPSTREAM_MAX_QUEUE: "-5" }, 'UPSTREAM_MAX_QUEUE: "-5" is not a whole number'],
    [{ MAX_EVENT_LOOP_DELAY_MS: "x" }, 'MAX_EVENT_LOOP_DELAY_MS: "x" is not a whole number'],
    [{ REDIS_URL: "http://cache:6379" }, "REDIS_URL: must be a redis:// or rediss:// URL"],
    [{ REDIS_URL: "redis://user:pa55word@" }, "REDIS_URL: is not a URL such as redis://host:6379"],
    [{ REVOCATION_SOURCE: "redis" }, "REVOCATION_SOURCE: redis needs REDIS_URL"],
    [{ REVOCATION_SOURCE: "carrier-pigeon" }, 'REVOCATION_SOURCE: "carrier-pigeon" is not one of redis, feed, off'],
    [{ REVOCATION_FAIL_MODE: "ajar" }, 'REVOCATION_FAIL_MODE: "ajar" is not one of open, closed'],
    [{ JWT_ALGORITHMS: "HS256", BETTER_AUTH_SECRET: "an-hs256-shared-secret-of-at-least-32-bytes!", REVOCATION_SOURCE: "feed" }, "REVOCATION_SOURCE: feed needs a JWKS"],
  ])("reports %j as one line naming the variable", (env, expected) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(expected);
  });

  it("reports every problem at once, one line each", () => {
    const problems = problemsOf({ GATEWAY_PORT: "x", LEGACY_API_URL: "y", LOG_LEVEL: "z" });
    expect(problems.map((line) => line.split(":")[0])).toEqual(["UPSTREAM_TIMEOUT_MS", "LEGACY_API_URL", "GATEWAY_PORT", "LOG_LEVEL"].filter((name) => problems.some((p) => p.startsWith(name))));
    expect(problems).toHaveLength(3);
  });

  it("has bounded defaults for what clients can make it hold", () => {
    expect(loadGatewayConfig({})).toMatchObject({
      limits: { maxHeaderCount: 100, maxConnections: 4096, bodyMemoryBytes: 64 * 1024 * 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxEventLoopDelayMs: 500 },
      shutdownTimeoutS: 25,
      routeTable: { upstreams: { legacy: { maxConnections: 256, maxQueue: 1024, authService: false }, auth: { authService: true } } },
    });
  });

  it("refuses a table whose minted tokens the gateway itself would accept", () => {
    const secret = "an-hs256-shared-secret-of-at-least-32-bytes!";
    const problems = problemsOf({ JWT_ALGORITHMS: "EdDSA,HS256", BETTER_AUTH_SECRET: secret, GATEWAY_CONFIG: MINTING_TABLE, UPSTREAM_SECRET: secret });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("routes[0].credentials.mint.secretEnv: UPSTREAM_SECRET is the secret the gateway accepts HS* tokens with");
    // Its own secret for the upstream, or no HS* accepted: fine.
    expect(() => loadGatewayConfig({ JWT_ALGORITHMS: "EdDSA,HS256", BETTER_AUTH_SECRET: secret, GATEWAY_CONFIG: MINTING_TABLE, UPSTREAM_SECRET: `${secret}-other` })).not.toThrow();
    expect(() => loadGatewayConfig({ GATEWAY_CONFIG: MINTING_TABLE, UPSTREAM_SECRET: secret })).not.toThrow();
  });

  it("reads revocation events from Redis when REDIS_URL is set, else from the auth-service's feed", () => {
    expect(loadGatewayConfig({}).revocation).toEqual({ source: "feed", feedUrl: "http://127.0.0.1:3001/internal/revocations", failMode: "open" });
    expect(loadGatewayConfig({ REDIS_URL: "redis://cache:6379/0", REVOCATION_FAIL_MODE: "closed" }).revocation).toEqual({ source: "redis", redisUrl: "redis://cache:6379/0", failMode: "closed" });
    expect(loadGatewayConfig({ JWT_ALGORITHMS: "HS256", BETTER_AUTH_SECRET: "an-hs256-shared-secret-of-at-least-32-bytes!" }).revocation).toEqual({ source: "off" });
    // A password in REDIS_URL never reaches a problem line.
    expect(problemsOf({ REDIS_URL: "ftp://u:hunter2@x" }).join("\n")).not.toContain("hunter2");
  });

  it("never echoes a long secret-looking value in full", () => {
    const problems = problemsOf({ LEGACY_API_URL: `not-a-url-${"s".repeat(200)}` });
    expect(problems[0]!.length).toBeLessThan(120);
  });
});

describe("gateway web settings", () => {
  it("normalizes CORS_ORIGINS and refuses wildcards and paths", () => {
    expect(loadGatewayConfig({ CORS_ORIGINS: "https://app.example.com, http://localhost:5173/" }).corsOrigins).toEqual([
      "https://app.example.com", "http://localhost:5173",
    ]);
    expect(problemsOf({ CORS_ORIGINS: "*" })[0]).toContain("CORS_ORIGINS:");
    expect(problemsOf({ CORS_ORIGINS: "https://app.example.com/path" })[0]).toContain("must be an origin only");
  });

  it("refuses a WEB_CLIENT_DIR that does not exist", () => {
    expect(problemsOf({ WEB_CLIENT_DIR: "/nonexistent/dist" })).toEqual(['WEB_CLIENT_DIR: "/nonexistent/dist" does not exist']);
  });
});
