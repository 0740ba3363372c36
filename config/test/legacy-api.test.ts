import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/errors.ts";
import { loadLegacyApiConfig } from "../src/legacy-api.ts";

const CWD = "/srv/app";

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadLegacyApiConfig(env, { cwd: CWD });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("loadLegacyApiConfig", () => {
  it("has the documented defaults, tasks in memory, and is frozen", () => {
    const config = loadLegacyApiConfig({}, { cwd: CWD });
    expect(config).toEqual({ host: "127.0.0.1", port: 8000, store: { kind: "memory" }, logLevel: "info", logFormat: "json", shutdownTimeoutS: 25 });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.store)).toBe(true);
  });

  it("reads LEGACY_API_DATABASE as memory or a SQLite file path, relative to the working directory", () => {
    const store = (LEGACY_API_DATABASE: string) => loadLegacyApiConfig({ LEGACY_API_DATABASE }, { cwd: CWD }).store;
    expect(store("memory")).toEqual({ kind: "memory" });
    expect(store(".data/tasks.db")).toEqual({ kind: "sqlite", path: "/srv/app/.data/tasks.db" });
    expect(store("/var/lib/todo/tasks.db")).toEqual({ kind: "sqlite", path: "/var/lib/todo/tasks.db" });
  });

  it.each([
    ["", "LEGACY_API_DATABASE: is empty (use memory or the path of a SQLite file)"],
    ["  ", "LEGACY_API_DATABASE: is empty (use memory or the path of a SQLite file)"],
    [":memory:", 'LEGACY_API_DATABASE: ":memory:": use memory or a plain file path'],
    ["file:tasks.db?mode=ro", 'LEGACY_API_DATABASE: "file:tasks.db?mode=ro": use memory or a plain file path'],
    ["/var/lib/todo/", 'LEGACY_API_DATABASE: "/var/lib/todo/" is not a file path'],
  ])("refuses LEGACY_API_DATABASE=%j with one line naming it", (value, line) => {
    expect(problems({ LEGACY_API_DATABASE: value })).toEqual([line]);
  });

  it("lists every problem at once", () => {
    expect(problems({ LEGACY_API_PORT: "80a", LEGACY_API_DATABASE: "", LOG_LEVEL: "loud" })).toEqual([
      'LEGACY_API_PORT: "80a" is not a port (0-65535)',
      "LEGACY_API_DATABASE: is empty (use memory or the path of a SQLite file)",
      'LOG_LEVEL: "loud" is not one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });
});
