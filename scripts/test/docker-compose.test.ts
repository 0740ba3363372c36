/**
 * docker-compose.yml, the Dockerfile and the load balancers' configuration, checked without a
 * container engine (none runs here): Debian's `docker-compose config` resolves and validates
 * the compose file, `haproxy -c` validates deploy/*.cfg, and the rest is read from the files.
 * What the images do when run is covered by compiled-build.test.ts (the bundles, run with
 * plain node) and load-balancer.test.ts (HAProxy with this configuration, run).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BUNDLE_DIR, SERVICE_ENTRIES, SERVICE_WORKSPACES } from "../build-services.ts";
import { ROOT } from "./helpers/stack.ts";
import { findHaproxy, parseDockerfile, requireTool, type DockerStage } from "./helpers/deploy.ts";

const composeAvailable = requireTool(
  spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0,
  "docker-compose (Debian's package) is not installed: the compose file cannot be checked",
);
const haproxy = findHaproxy();
const haproxyAvailable = requireTool(haproxy !== undefined, "haproxy (Debian's package) is not installed: deploy/*.cfg cannot be checked");

const NODE_SERVICES = ["legacy-api", "auth-service-1", "auth-service-2", "gateway"];
const ALL_SERVICES = ["auth-lb", "auth-service-1", "auth-service-2", "gateway", "lb", "legacy-api", "postgres", "redis"];
const TOOLING = ["tsx", "typescript", "esbuild", "vite", "vitest", "ts-node"];

interface HealthCheck { test?: string[]; disable?: boolean }
interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: { published: number | string; target: number }[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: HealthCheck;
  networks?: Record<string, { ipv4_address?: string } | null>;
  volumes?: string[];
  container_name?: string;
  stop_grace_period?: string;
  read_only?: boolean;
  user?: string;
}
interface ComposeConfig {
  services: Record<string, ComposeService>;
  networks: Record<string, { internal?: boolean; ipam?: { config?: { subnet?: string; ip_range?: string }[] } }>;
}

const scratch = mkdtempSync(join(tmpdir(), "compose-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const secrets = { BETTER_AUTH_SECRET: randomBytes(32).toString("hex"), POSTGRES_PASSWORD: randomBytes(24).toString("hex") };

/** `docker-compose --env-file <file> config` with only PATH in the environment (no .env of this checkout is read). */
function composeConfig(envFile: Record<string, string> | string): { status: number | null; stdout: string; stderr: string } {
  let file = envFile;
  if (typeof envFile !== "string") {
    file = join(scratch, `${randomBytes(4).toString("hex")}.env`);
    writeFileSync(file, Object.entries(envFile).map(([name, value]) => `${name}=${value}\n`).join(""));
  }
  const result = spawnSync("docker-compose", ["--env-file", file as string, "-f", "docker-compose.yml", "config"], {
    cwd: ROOT, env: { PATH: process.env.PATH }, encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function seconds(duration: string | undefined): number {
  const match = /^(\d+)s$/.exec(duration ?? "");
  return match ? Number(match[1]) : Number.NaN;
}

function ipv4(address: string): number {
  return address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
}

function inCidr(address: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipv4(base!) / size) * size;
  return ipv4(address) >= start && ipv4(address) < start + size;
}

/** The port a node health check fetches (`fetch('http://127.0.0.1:<port>/…')`). */
function healthCheckUrl(check: HealthCheck | undefined): URL | undefined {
  const script = check?.test?.join(" ") ?? "";
  const match = /fetch\('([^']+)'/.exec(script);
  return match ? new URL(match[1]!) : undefined;
}

describe.skipIf(!composeAvailable)("docker-compose.yml (checked statically; no engine runs here)", () => {
  const resolved = composeAvailable ? composeConfig(secrets) : { status: null, stdout: "", stderr: "" };
  const config = (resolved.status === 0 ? parse(resolved.stdout) : { services: {}, networks: {} }) as ComposeConfig;
  const services = config.services;
  const raw = readFileSync(join(ROOT, "docker-compose.yml"), "utf8");

  it("is valid, with the secrets from an env file, and runs every part of the stack", () => {
    expect(resolved.status, resolved.stderr).toBe(0);
    expect(Object.keys(services).sort()).toEqual(ALL_SERVICES);
  });

  it("publishes the load balancer's port 8080 and nothing else", () => {
    const published = Object.entries(services).filter(([, service]) => service.ports !== undefined);
    expect(published.map(([name]) => name)).toEqual(["lb"]);
    expect(services.lb!.ports).toEqual([expect.objectContaining({ published: 8080, target: 8080 })]);
  });

  it("gives every service a health check, and starts each only once what it needs is healthy", () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.healthcheck?.disable, name).not.toBe(true);
      expect(service.healthcheck?.test?.length ?? 0, `${name} has a health check`).toBeGreaterThan(1);
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(condition, `${name} -> ${dependency}`).toBe("service_healthy");
      }
    }
    const dependencies = (name: string) => Object.keys(services[name]!.depends_on ?? {}).sort();
    expect(dependencies("lb")).toEqual(["gateway"]);
    expect(dependencies("gateway")).toEqual(["auth-lb", "legacy-api", "redis"]);
    expect(dependencies("auth-lb")).toEqual(["auth-service-1", "auth-service-2"]);
    expect(dependencies("auth-service-1")).toEqual(["postgres", "redis"]);
    // One after the other: their first start migrates the database.
    expect(dependencies("auth-service-2")).toEqual(["auth-service-1", "postgres", "redis"]);
  });

  it("checks each Node service on its own port: /readyz for the gateway, /healthz for the auth-service, a task read for the stub", () => {
    const gateway = services.gateway!.environment!;
    expect(healthCheckUrl(services.gateway!.healthcheck)?.href).toBe(`http://127.0.0.1:${gateway.GATEWAY_PORT}/readyz`);
    for (const name of ["auth-service-1", "auth-service-2"]) {
      expect(healthCheckUrl(services[name]!.healthcheck)?.href).toBe(`http://127.0.0.1:${services[name]!.environment!.AUTH_PORT}/healthz`);
    }
    const stub = healthCheckUrl(services["legacy-api"]!.healthcheck)!;
    expect(stub.port).toBe(services["legacy-api"]!.environment!.LEGACY_API_PORT);
    expect(stub.pathname).toMatch(/^\/api\/[^/]+\/tasks$/);
  });

  it("can run any number of gateways (--scale gateway=N): no fixed name, address or host port", () => {
    const gateway = services.gateway!;
    expect(gateway.container_name).toBeUndefined();
    expect(gateway.ports).toBeUndefined();
    for (const network of Object.values(gateway.networks ?? {})) expect(network?.ipv4_address).toBeUndefined();
    expect(raw).not.toMatch(/^\s*container_name:/m);
  });

  it("runs two auth-service replicas reached through one URL, so tokens carry one issuer", () => {
    const [first, second] = [services["auth-service-1"]!, services["auth-service-2"]!];
    expect(first.command).toEqual(second.command);
    expect(first.environment).toEqual(second.environment);
    expect(first.environment!.NODE_ENV).toBe("production");
    expect(first.environment!.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
    expect(first.environment!.REDIS_URL).toBe("redis://redis:6379");
    expect(first.environment!.BETTER_AUTH_URL).toBe("http://auth-lb:3001");
    expect(services.gateway!.environment!.AUTH_SERVICE_URL).toBe(first.environment!.BETTER_AUTH_URL);
    expect(services.gateway!.environment).toMatchObject({
      LEGACY_API_URL: `http://legacy-api:${services["legacy-api"]!.environment!.LEGACY_API_PORT}`,
      REDIS_URL: "redis://redis:6379",
      MAX_CONNECTIONS_PER_ADDRESS: "0",
    });
  });

  it("trusts forwarding headers from exactly the load balancer's fixed address, which DHCP never hands out", () => {
    const edge = config.networks.edge!.ipam!.config![0]!;
    const lbAddress = services.lb!.networks!.edge!.ipv4_address!;
    expect(services.gateway!.environment!.TRUSTED_PROXIES).toBe(lbAddress);
    expect(inCidr(lbAddress, edge.subnet!)).toBe(true);
    expect(inCidr(lbAddress, edge.ip_range!)).toBe(false);
    expect(inCidr(edge.ip_range!.split("/")[0]!, edge.subnet!)).toBe(true);
  });

  it("keeps the databases and the auth-service on a network with no route out and no published port", () => {
    expect(config.networks.internal!.internal).toBe(true);
    for (const name of ["postgres", "redis", "auth-service-1", "auth-service-2", "auth-lb", "legacy-api"]) {
      expect(Object.keys(services[name]!.networks ?? {}), name).toEqual(["internal"]);
    }
    expect(Object.keys(services.lb!.networks ?? {})).toEqual(["edge"]);
    expect(Object.keys(services.gateway!.networks ?? {}).sort()).toEqual(["edge", "internal"]);
  });

  it("runs the Node services as compiled JavaScript from the Dockerfile, read-only, with time to drain", () => {
    for (const name of NODE_SERVICES) {
      const service = services[name]!;
      expect(service.build, name).toBeDefined();
      expect(service.user, name).toBeUndefined(); // the image's USER (node)
      expect(service.read_only, name).toBe(true);
      const [node, entry, ...rest] = service.command ?? [];
      expect([node, rest], name).toEqual(["node", []]);
      expect(Object.keys(SERVICE_ENTRIES).map((bundle) => `${BUNDLE_DIR}/${bundle}.mjs`), name).toContain(entry);
      const shutdown = Number(service.environment!.SHUTDOWN_TIMEOUT_S);
      expect(shutdown, name).toBe(25);
      expect(seconds(service.stop_grace_period), name).toBeGreaterThan(shutdown);
      expect(service.environment!.LOG_FORMAT, name).toBe("json");
    }
    expect(services["legacy-api"]!.environment!.LEGACY_API_DATABASE).toMatch(/^\/data\//);
    expect(services["legacy-api"]!.volumes).toEqual([expect.stringMatching(/^tasks-data:\/data(:rw)?$/)]);
  });

  it("pins every image it pulls to a version", () => {
    for (const [name, service] of Object.entries(services)) {
      if (NODE_SERVICES.includes(name)) continue;
      expect(service.image, name).toMatch(/^[a-z0-9./-]+:\d+\.\d+(\.\d+)?-[a-z0-9]+$/);
    }
  });

  it("mounts the load balancers' configuration read-only", () => {
    expect(services.lb!.volumes).toEqual([expect.stringMatching(/\/deploy\/haproxy\.cfg:\/usr\/local\/etc\/haproxy\/haproxy\.cfg:ro$/)]);
    expect(services["auth-lb"]!.volumes).toEqual([expect.stringMatching(/\/deploy\/haproxy-auth\.cfg:\/usr\/local\/etc\/haproxy\/haproxy\.cfg:ro$/)]);
  });

  describe("secrets", () => {
    it("come from the env file: the compose file holds none", () => {
      // Every value of a secret-named setting is a ${NAME:?…} reference, and nothing in the file
      // looks like a key or carries a password in a URL.
      for (const match of raw.matchAll(/^\s*([A-Z0-9_]*(SECRET|PASSWORD|TOKEN|KEY)[A-Z0-9_]*):\s*(.*)$/gm)) {
        expect(match[3], match[1]).toMatch(/^\$\{[A-Z0-9_]+:\?[^}]+\}$/);
      }
      const credentials = [...raw.matchAll(/[a-z]+:\/\/[^:/@\s]+:(\$\{[^}]*\}|[^@\s]+)@/g)];
      expect(credentials.length).toBeGreaterThan(0); // DATABASE_URL
      for (const [url, password] of credentials) expect(password, url).toMatch(/^\$\{[A-Z0-9_]+:\?[^}]+\}$/);
      expect(raw).not.toMatch(/[0-9a-f]{24,}|[A-Za-z0-9+/_-]{40,}/);
      for (const value of Object.values(secrets)) expect(raw).not.toContain(value);
    });

    it("reach only the services that use them", () => {
      expect(resolved.stdout).toContain(secrets.BETTER_AUTH_SECRET);
      for (const [name, service] of Object.entries(services)) {
        const environment = JSON.stringify(service.environment ?? {});
        expect(environment.includes(secrets.BETTER_AUTH_SECRET), name).toBe(name.startsWith("auth-service-"));
        expect(environment.includes(secrets.POSTGRES_PASSWORD), name).toBe(name.startsWith("auth-service-") || name === "postgres");
      }
    });

    it.each(["BETTER_AUTH_SECRET", "POSTGRES_PASSWORD"] as const)("stop docker-compose with a line naming %s when it is missing or empty", (name) => {
      for (const value of [undefined, ""]) {
        const env: Record<string, string> = { ...secrets };
        if (value === undefined) delete env[name];
        else env[name] = value;
        const { status, stderr } = composeConfig(env);
        expect(status).not.toBe(0);
        expect(stderr).toContain(`set ${name} in .env (see .env.example)`);
        for (const secret of Object.values(env)) if (secret !== "") expect(stderr).not.toContain(secret);
      }
    });

    it("are asked for, empty, by .env.example (git ignores .env, docker build ignores .env*)", () => {
      const example = readFileSync(join(ROOT, ".env.example"), "utf8");
      expect(example).toMatch(/^BETTER_AUTH_SECRET=$/m);
      expect(example).toMatch(/^POSTGRES_PASSWORD=$/m);
      const { status, stderr } = composeConfig(join(ROOT, ".env.example"));
      expect(status).not.toBe(0);
      expect(stderr).toMatch(/set (BETTER_AUTH_SECRET|POSTGRES_PASSWORD) in \.env/);
      expect(readFileSync(join(ROOT, ".gitignore"), "utf8")).toMatch(/^\.env$/m);
      expect(readFileSync(join(ROOT, ".dockerignore"), "utf8")).toMatch(/^\.env$/m);
      expect(readFileSync(join(ROOT, ".dockerignore"), "utf8")).toMatch(/^\.env\.\*$/m);
    });
  });
});

describe("Dockerfile", () => {
  const stages = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
  const stage = (name: string): DockerStage => {
    const found = stages.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no stage ${name} (stages: ${stages.map((s) => s.name).join(", ")})`);
    return found;
  };
  const runtime = stages.at(-1)!;
  const args = (s: DockerStage, instruction: string) => s.instructions.filter((i) => i.instruction === instruction).map((i) => i.args);

  it("builds in stages, each from one pinned slim Node image", () => {
    expect(stages.map((s) => s.name)).toEqual(["build", "prod-deps", "runtime"]);
    for (const { from } of stages) {
      expect(from).toMatch(/^node:20\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
      expect(from).toBe(stages[0]!.from);
    }
  });

  it("compiles in the build stage and installs production dependencies of the service workspaces only", () => {
    expect(args(stage("build"), "RUN").join("\n")).toContain("npm run build:services");
    const install = args(stage("prod-deps"), "RUN").find((command) => command.includes("npm ci"))!;
    expect(install).toMatch(/--omit=dev/);
    expect(install).toMatch(/--omit=optional/);
    expect([...install.matchAll(/-w (\S+)/g)].map((m) => m[1]).sort()).toEqual([...SERVICE_WORKSPACES].sort());
  });

  it("leaves TypeScript and every build tool out of the production dependency tree", () => {
    // What `npm ci --omit=dev --omit=optional` installs: the lock's entries flagged neither dev
    // nor optional (the workspace filter then narrows this further).
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean; link?: boolean }>;
    };
    const production = new Set(Object.entries(lock.packages)
      .filter(([path, entry]) => path.includes("node_modules/") && !entry.dev && !entry.optional && !entry.devOptional)
      .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length)));
    for (const tool of TOOLING) expect(production.has(tool), tool).toBe(false);
    for (const workspace of SERVICE_WORKSPACES) {
      const manifest = JSON.parse(readFileSync(join(ROOT, workspace, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
      for (const dependency of Object.keys(manifest.dependencies ?? {})) expect(production.has(dependency), `${workspace} needs ${dependency}`).toBe(true);
    }
  });

  it("runs compiled JavaScript with node alone, as a user other than root, with a health check", () => {
    const copies = args(runtime, "COPY");
    expect(copies).toContain("--from=prod-deps /app/node_modules ./node_modules");
    expect(copies.filter((copy) => copy.includes("node_modules"))).toHaveLength(1);
    expect(copies).toContain("--from=build /app/dist ./dist");
    expect(copies).toContain("--from=build /app/web-client/dist ./web-client/dist");
    const users = args(runtime, "USER");
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const healthcheck = args(runtime, "HEALTHCHECK");
    expect(healthcheck).toHaveLength(1);
    expect(healthcheck[0]).toMatch(/CMD \["node", "-e", ".*\/readyz/);
    const cmd = JSON.parse(args(runtime, "CMD").at(-1)!) as string[];
    expect(cmd).toEqual(["node", `${BUNDLE_DIR}/gateway.mjs`]);
    expect(readFileSync(join(ROOT, "Dockerfile"), "utf8")).not.toMatch(/--import|tsx |:latest/);
  });

  it("keeps secrets, installs and builds of this machine out of the build context", () => {
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
    for (const pattern of [".env", ".env.*", "node_modules", "**/node_modules", "**/dist", ".data", ".git"]) expect(ignored).toContain(pattern);
  });
});

describe.skipIf(!haproxyAvailable)("deploy/*.cfg (haproxy -c)", () => {
  it.each(["haproxy.cfg", "haproxy-auth.cfg"])("%s is a valid HAProxy configuration", (file) => {
    const result = spawnSync(haproxy!, ["-c", "-f", join(ROOT, "deploy", file)], { encoding: "utf8" });
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toContain("Configuration file is valid");
  });

  it("the public one balances the gateway service on its port, health-checking /readyz", () => {
    const cfg = readFileSync(join(ROOT, "deploy", "haproxy.cfg"), "utf8");
    expect(cfg).toMatch(/^\s*bind :8080$/m);
    expect(cfg).toMatch(/^\s*http-check send meth GET uri \/readyz /m);
    expect(cfg).toMatch(/^\s*server-template gateway \d+ gateway:8080$/m);
    expect(cfg).toMatch(/^\s*default-server .*\bresolvers docker\b.*\binit-addr none\b/m);
    expect(cfg).toMatch(/^\s*nameserver dns 127\.0\.0\.11:53$/m);
    expect(cfg).toMatch(/^\s*option forwardfor$/m);
  });

  it("the internal one balances both auth-service replicas, health-checking /healthz", () => {
    const cfg = readFileSync(join(ROOT, "deploy", "haproxy-auth.cfg"), "utf8");
    expect(cfg).toMatch(/^\s*bind :3001$/m);
    expect(cfg).toMatch(/^\s*http-check send meth GET uri \/healthz /m);
    expect(cfg).toMatch(/^\s*server auth-service-1 auth-service-1:3001$/m);
    expect(cfg).toMatch(/^\s*server auth-service-2 auth-service-2:3001$/m);
    expect(cfg).not.toMatch(/^\s*option forwardfor/m);
  });

  it("the compose file's health checks ask the monitor these files define", () => {
    for (const file of ["haproxy.cfg", "haproxy-auth.cfg"]) {
      expect(readFileSync(join(ROOT, "deploy", file), "utf8")).toMatch(/^\s*bind 127\.0\.0\.1:8404\n\s*monitor-uri \/healthz$/m);
    }
    expect(readFileSync(join(ROOT, "docker-compose.yml"), "utf8").match(/http:\/\/127\.0\.0\.1:8404\/healthz/g)).toHaveLength(2);
    expect(existsSync(join(ROOT, "deploy", "haproxy.cfg"))).toBe(true);
  });
});
