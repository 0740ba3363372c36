import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";

/**
 * Whether a tool a test file needs is there. When it is not: with `REQUIRE_SERVICES=1` (CI) this
 * throws, so the run fails instead of skipping; otherwise it says what is skipped and why.
 */
export function requireTool(available: boolean, message: string): boolean {
  if (available) return true;
  if (process.env.REQUIRE_SERVICES === "1") throw new Error(`${message} (REQUIRE_SERVICES=1, so these tests must run)`);
  console.warn(`SKIPPING: ${message}`);
  return false;
}

/** Debian's haproxy: on PATH, or in /usr/sbin (not on a normal user's PATH). */
export function findHaproxy(): string | undefined {
  for (const candidate of ["haproxy", "/usr/sbin/haproxy"]) {
    if (candidate.startsWith("/") && !existsSync(candidate)) continue;
    if (spawnSync(candidate, ["-v"], { stdio: "ignore" }).status === 0) return candidate;
  }
  return undefined;
}

export interface DockerInstruction {
  /** Upper case: `RUN`, `COPY`, … */
  readonly instruction: string;
  /** The rest of the instruction, continuation lines joined with a space. */
  readonly args: string;
}

export interface DockerStage {
  /** The `AS` name; the stage's index when it has none. */
  readonly name: string;
  /** The base image, with `ARG` defaults (declared before the first FROM) substituted. */
  readonly from: string;
  readonly instructions: readonly DockerInstruction[];
}

/** A Dockerfile's stages: enough of its grammar for the checks of docker-compose.test.ts. */
export function parseDockerfile(text: string): DockerStage[] {
  const logical: string[] = [];
  let pending = "";
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (pending === "" && (trimmed === "" || trimmed.startsWith("#"))) continue;
    if (trimmed.startsWith("#")) continue; // a comment inside a continued instruction
    if (trimmed.endsWith("\\")) {
      pending += `${trimmed.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(`${pending}${trimmed}`.trim());
    pending = "";
  }
  const globalArgs = new Map<string, string>();
  const stages: { name: string; from: string; instructions: DockerInstruction[] }[] = [];
  for (const line of logical) {
    const [, keyword = "", rest = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = keyword.toUpperCase();
    if (instruction === "FROM") {
      const [image = "", as, name] = rest.split(/\s+/);
      const from = image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, braced: string | undefined, bare: string | undefined) => globalArgs.get((braced ?? bare)!) ?? "");
      stages.push({ name: as?.toUpperCase() === "AS" && name ? name : String(stages.length), from, instructions: [] });
      continue;
    }
    if (stages.length === 0) {
      if (instruction === "ARG") {
        const [name, value = ""] = rest.split("=", 2);
        globalArgs.set(name!.trim(), value.trim());
      }
      continue;
    }
    stages.at(-1)!.instructions.push({ instruction, args: rest });
  }
  return stages;
}

const INTERPOLATION = /\$\{(\w+)(?::([?-])([^}]*))?\}/g;

/**
 * A service's `environment` in docker-compose.yml, read as docker-compose reads it: YAML merge
 * keys applied, `${NAME}`, `${NAME:-default}` and `${NAME:?message}` taken from `variables` (the
 * env file). For running the services here with exactly the settings the compose file gives them.
 */
export function composeEnvironment(file: string, service: string, variables: Readonly<Record<string, string>>): Record<string, string> {
  const document = parseYaml(readFileSync(file, "utf8"), { merge: true }) as { services?: Record<string, { environment?: Record<string, unknown> }> };
  const environment = document.services?.[service]?.environment;
  if (environment === undefined) throw new Error(`${file}: no environment for service ${service}`);
  return Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, String(value).replace(INTERPOLATION, (_m, variable: string, kind?: string, text?: string) => {
    const given = variables[variable];
    if (kind === "?" && !given) throw new Error(`${file}: ${service}.${name} needs ${variable}: ${text}`);
    return given || (kind === "-" ? text! : "");
  })]));
}
