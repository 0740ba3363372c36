import { parseOrigin } from "./origins.ts";

/**
 * Reading settings from an environment-like record. Each reader returns a parsed value or
 * records a one-line problem and returns `undefined`; the caller collects every problem
 * before failing, so an operator sees all of them at once.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /** The raw value; `undefined` when the variable is unset (an empty string is a value). */
  raw(name: string): string | undefined {
    return this.env[name];
  }

  problem(name: string, message: string): undefined {
    this.problems.push(`${name}: ${message}`);
    return undefined;
  }

  string(name: string, fallback: string): string {
    return this.env[name] ?? fallback;
  }

  optionalString(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === "" ? undefined : value;
  }

  port(name: string, fallback: number): number {
    const value = this.env[name];
    if (value === undefined) return fallback;
    if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
      return this.problem(name, `${quote(value)} is not a port (0-65535)`) ?? fallback;
    }
    return Number(value);
  }

  host(name: string, fallback: string): string {
    const value = this.env[name];
    if (value === undefined) return fallback;
    if (value === "" || /[\s/]/.test(value)) {
      return this.problem(name, `${quote(value)} is not a host name or address`) ?? fallback;
    }
    return value;
  }

  /** An absolute http(s) URL, returned without a trailing slash. */
  httpUrl(name: string, fallback: string): string {
    const value = this.env[name] ?? fallback;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return this.problem(name, `${quote(value)} is not an absolute URL`) ?? fallback;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return this.problem(name, `${quote(value)} must use http or https`) ?? fallback;
    }
    if (url.username || url.password) {
      return this.problem(name, "must not carry credentials in the URL") ?? fallback;
    }
    if (url.search || url.hash) {
      return this.problem(name, `${quote(value)} must not have a query or fragment`) ?? fallback;
    }
    return url.href.replace(/\/+$/, "");
  }

  /** A `redis://` or `rediss://` URL; a bad one is reported without echoing it (it may hold a password). */
  redisUrl(name: string): string | undefined {
    const value = this.env[name] ?? "";
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return this.problem(name, "is not a URL such as redis://host:6379");
    }
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") return this.problem(name, "must be a redis:// or rediss:// URL");
    if (url.hostname === "") return this.problem(name, "has no host");
    return value;
  }

  /** A whole number within bounds, in the unit the variable's name states. */
  integer(name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
    const value = this.env[name];
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value.trim())) {
      return this.problem(name, `${quote(value)} is not a whole number`) ?? fallback;
    }
    const parsed = Number(value.trim());
    if (parsed < min || parsed > max) {
      return this.problem(name, `${parsed} is out of range (${min}-${max})`) ?? fallback;
    }
    return parsed;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.env[name];
    if (value === undefined || value === "") return fallback;
    const normalized = value.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(normalized)) return true;
    if (["false", "0", "no", "off"].includes(normalized)) return false;
    return this.problem(name, `${quote(value)} is not a boolean (true or false)`) ?? fallback;
  }

  /** A comma-separated list; blanks around items are ignored, empty items dropped. */
  list(name: string, fallback: readonly string[]): string[] {
    const value = this.env[name];
    if (value === undefined) return [...fallback];
    return value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "");
  }

  /** A comma list of exact web origins (`https://app.example.com`), normalized; no wildcards. */
  origins(name: string): string[] {
    const origins = new Set<string>();
    for (const item of this.list(name, [])) {
      const parsed = parseOrigin(item);
      if (parsed === "not-origin") this.problem(name, `${quote(item)} is not an origin such as https://app.example.com (no wildcards)`);
      else if (parsed === "has-path") this.problem(name, `${quote(item)} must be an origin only (scheme://host[:port]), without a path`);
      else origins.add(parsed.origin);
    }
    return [...origins];
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.env[name];
    if (value === undefined || value === "") return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      return this.problem(name, `${quote(value)} is not one of ${allowed.join(", ")}`) ?? fallback;
    }
    return value as T;
  }
}

/** `SHUTDOWN_TIMEOUT_S`, the same for every service: under Kubernetes' 30 s grace period by default. */
export const DEFAULT_SHUTDOWN_TIMEOUT_S = 25;

export function readShutdownTimeout(env: EnvReader): number {
  return env.integer("SHUTDOWN_TIMEOUT_S", DEFAULT_SHUTDOWN_TIMEOUT_S, { min: 1, max: 3600 });
}

/** Quotes a value for a problem line, cut short so a pasted secret never fills a log. */
export function quote(value: string): string {
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(shown);
}

/** Deep-freezes plain objects and arrays so a loaded configuration cannot drift at run time. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}
