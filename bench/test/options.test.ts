import { describe, expect, it } from "vitest";
import { displayPath, FULL_DEFAULTS, parseOptions, QUICK_DEFAULTS, SCENARIO_NAMES, UsageError } from "../src/options.ts";

describe("parseOptions", () => {
  it("runs every scenario for the full durations, 64 connections and 2,000 req/s by default", () => {
    const options = parseOptions([], {});
    expect(options).toMatchObject({
      durationS: FULL_DEFAULTS.durationS, warmupS: FULL_DEFAULTS.warmupS, rounds: 2, maxExtraRounds: 2, connections: 64, rate: 2000,
      quick: false, budgetMs: 50, enforceBudget: true, gatewayLogLevel: "warn", users: 100, serve: false,
    });
    expect(options.scenarios).toEqual([...SCENARIO_NAMES]);
    expect(Object.isFrozen(options)).toBe(true);
  });

  it("makes --quick short, without extra rounds, and leaves the budget unenforced; an explicit --duration still wins", () => {
    expect(parseOptions(["--quick"], {})).toMatchObject({ durationS: QUICK_DEFAULTS.durationS, warmupS: QUICK_DEFAULTS.warmupS, quick: true, enforceBudget: false, maxExtraRounds: 0 });
    expect(parseOptions(["--quick", "--duration", "2"], {}).durationS).toBe(2);
  });

  it("takes --quick from npm_config_quick when npm swallowed the flag", () => {
    expect(parseOptions([], { npm_config_quick: "true" }).quick).toBe(true);
  });

  it("reads the measurement settings from the command line", () => {
    const options = parseOptions(
      ["--duration", "7.5", "--connections", "32", "--rate", "500", "--rounds", "3", "--warmup", "0", "--log-level", "info", "--users", "10"],
      {},
    );
    expect(options).toMatchObject({ durationS: 7.5, connections: 32, rate: 500, rounds: 3, warmupS: 0, gatewayLogLevel: "info", users: 10 });
  });

  it("accepts scenarios repeated or comma-separated, keeps their order and drops duplicates", () => {
    expect(parseOptions(["--scenario", "reject-flood,read-hot", "--scenario", "read-hot"], {}).scenarios).toEqual(["reject-flood", "read-hot"]);
  });

  it("reads the budget from BENCH_BUDGET_MS", () => {
    expect(parseOptions([], { BENCH_BUDGET_MS: "0.5" }).budgetMs).toBe(0.5);
    expect(parseOptions([], { BENCH_BUDGET_MS: "" }).budgetMs).toBe(50);
  });

  it.each([
    [["--scenario", "read-warm"], /unknown scenario "read-warm"/],
    [["--duration", "0"], /--duration/],
    [["--duration", "abc"], /--duration/],
    [["--rounds", "1"], /--rounds: must be an integer in \[2/],
    [["--connections", "2.5"], /--connections/],
    [["--log-level", "loud"], /--log-level/],
    [["--bogus"], /bogus/],
    [["extra"], /extra/],
  ])("refuses %j with a usage error", (argv, message) => {
    expect(() => parseOptions(argv, {})).toThrow(UsageError);
    expect(() => parseOptions(argv, {})).toThrow(message);
  });

  it("refuses a budget that is not a positive number of milliseconds", () => {
    expect(() => parseOptions([], { BENCH_BUDGET_MS: "-1" })).toThrow(/BENCH_BUDGET_MS/);
    expect(() => parseOptions([], { BENCH_BUDGET_MS: "fast" })).toThrow(/BENCH_BUDGET_MS/);
  });

  it("uses a running legacy API given by BENCH_LEGACY_API_URL, without its trailing slash", () => {
    expect(parseOptions([], { BENCH_LEGACY_API_URL: "http://127.0.0.1:8000/" }).legacyApiUrl).toBe("http://127.0.0.1:8000");
    expect(() => parseOptions([], { BENCH_LEGACY_API_URL: "localhost:8000" })).toThrow(/BENCH_LEGACY_API_URL/);
  });

  it("resolves --out against where npm was run (INIT_CWD), not the bench/ folder npm runs the script in", () => {
    expect(parseOptions(["--out", "reports"], { INIT_CWD: "/home/ada/todo" }).outDir).toBe("/home/ada/todo/reports");
    expect(parseOptions(["--out", "/tmp/r"], { INIT_CWD: "/home/ada/todo" }).outDir).toBe("/tmp/r");
    expect(parseOptions([], { INIT_CWD: "/home/ada/todo" }).outDir).toBeUndefined();
  });

  it("prints a line per run only with --verbose", () => {
    expect(parseOptions([], {}).verbose).toBe(false);
    expect(parseOptions(["--verbose"], {}).verbose).toBe(true);
  });
});

describe("displayPath", () => {
  it("shows a report relative to where the bench was run from, or absolute when outside it", () => {
    expect(displayPath("/home/ada/todo/bench/results/x.md", "/home/ada/todo")).toBe("bench/results/x.md");
    expect(displayPath("/tmp/r/x.md", "/home/ada/todo")).toBe("/tmp/r/x.md");
  });
});
