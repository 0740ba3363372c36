import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = fileURLToPath(new URL("../../", import.meta.url));
const available = spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0;
if (!available) {
  const message = "docker-compose (Debian's package) is not installed: the compose file cannot be checked";
  if (process.env.REQUIRE_SERVICES === "1") throw new Error(message);
  console.warn(`SKIPPING docker-compose tests: ${message}`);
}

function composeConfig(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync("docker-compose", ["-f", "docker-compose.yml", "config"], {
    cwd: root, env: { PATH: process.env.PATH, ...env }, encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(!available)("docker-compose.yml (checked statically; no engine runs here)", () => {
  it("is a valid compose file running the stack on PostgreSQL with Redis", () => {
    const { status, stdout } = composeConfig({ BETTER_AUTH_SECRET: "a".repeat(64) });
    expect(status).toBe(0);
    const config = parse(stdout) as { services: Record<string, { environment?: Record<string, string>; ports?: unknown[]; depends_on?: unknown }> };
    expect(Object.keys(config.services).sort()).toEqual(["auth-service", "gateway", "legacy-api", "postgres", "redis"]);
    expect(config.services["auth-service"]!.environment!.DATABASE_URL).toMatch(/^postgres:\/\/.+@postgres:5432\//);
    expect(config.services["auth-service"]!.environment!.NODE_ENV).toBe("production");
    expect(config.services.gateway!.environment).toMatchObject({
      LEGACY_API_URL: "http://legacy-api:8000", AUTH_SERVICE_URL: "http://auth-service:3001",
    });
    // Only the gateway is reachable from outside.
    const published = Object.entries(config.services).filter(([, service]) => service.ports !== undefined).map(([name]) => name);
    expect(published).toEqual(["gateway"]);
  });

  it("refuses to start without BETTER_AUTH_SECRET", () => {
    const { status, stderr } = composeConfig({});
    expect(status).not.toBe(0);
    expect(stderr).toContain("set BETTER_AUTH_SECRET");
  });

  it("builds every service from the repository's Dockerfile", () => {
    const dockerfile = readFileSync(new URL("Dockerfile", `file://${root}`), "utf8");
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toContain("npm ci");
  });
});
