import path from "node:path";
import { parseArgs } from "node:util";
import { LOG_LEVELS, type LogLevel } from "@todo-gateway/config";

export const SCENARIO_NAMES = ["read-hot", "read-cold", "crud-mix", "reject-flood"] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Every setting of one bench run, validated and frozen; written into the results. */
export interface BenchOptions {
  /** Seconds each measured run lasts (`--duration`). */
  readonly durationS: number;
  /** Seconds of warm-up per scenario and target before the measured rounds (`--warmup`). */
  readonly warmupS: number;
  /** Measured rounds per scenario, mode and target; the direct and gateway runs alternate (`--rounds`, at least 2). */
  readonly rounds: number;
  /** Rounds added per scenario when other load on the machine disturbed some (none in quick mode). */
  readonly maxExtraRounds: number;
  /** Connections of the fixed-concurrency mode (`--connections`). */
  readonly connections: number;
  /** Requests per second of the fixed-rate mode (`--rate`). */
  readonly rate: number;
  /** Scenarios to run, in this order (`--scenario`, repeatable or comma-separated). */
  readonly scenarios: readonly ScenarioName[];
  /** `--quick`: a few seconds in all, for CI. */
  readonly quick: boolean;
  /** `BENCH_BUDGET_MS`: the largest accepted added p99 latency, in ms. */
  readonly budgetMs: number;
  /** Whether a broken budget fails the run (not in quick mode: those figures are too short to judge). */
  readonly enforceBudget: boolean;
  /** `--log-level`: the gateway's `LOG_LEVEL` during the run. */
  readonly gatewayLogLevel: LogLevel;
  /** Users in the token set (`--users`). */
  readonly users: number;
  /** `--serve`: start everything, print how to measure it by hand, and wait for Ctrl-C. */
  readonly serve: boolean;
  /** `BENCH_LEGACY_API_URL`: measure an already running legacy API instead of starting the stub. */
  readonly legacyApiUrl: string | undefined;
  /** `--out`: where the reports go (default `bench/results`), made absolute against where npm was run. */
  readonly outDir: string | undefined;
  /** `--verbose`: a line per run (warm-ups and rounds) as it ends, besides the summary. */
  readonly verbose: boolean;
  readonly help: boolean;
}

export const FULL_DEFAULTS = Object.freeze({ durationS: 5, warmupS: 2 });
export const QUICK_DEFAULTS = Object.freeze({ durationS: 0.5, warmupS: 0.3 });

export const USAGE = `Usage: npm run bench -- [options]

Starts the legacy API stub, a local JWKS and the gateway on loopback, measures each scenario
against the direct API and through the gateway (alternating, at least two rounds each), and
writes bench/results/<timestamp>.{json,md,svg}.

Options:
  --duration <s>      seconds per measured run (default ${FULL_DEFAULTS.durationS}; quick ${QUICK_DEFAULTS.durationS})
  --warmup <s>        warm-up seconds per scenario and target (default ${FULL_DEFAULTS.warmupS}; quick ${QUICK_DEFAULTS.warmupS})
  --rounds <n>        measured rounds per scenario, mode and target (default 2, at least 2)
  --connections <n>   connections of the fixed-concurrency mode (default 64)
  --rate <n>          requests per second of the fixed-rate mode (default 2000)
  --scenario <name>   ${SCENARIO_NAMES.join(", ")} (repeatable or comma-separated; default all)
  --users <n>         users holding tokens (default 100)
  --log-level <lvl>   the gateway's LOG_LEVEL (default warn; info adds one access-log line per request)
  --quick             a few seconds in all (CI); the latency budget is reported, not enforced
  --serve             start everything, print URLs, tokens and commands for an independent tool, wait for Ctrl-C
  --out <dir>         where to write the reports (default bench/results)
  --verbose           a line per run as it ends; otherwise one line per scenario
  -h, --help          this text

Environment:
  BENCH_BUDGET_MS       largest accepted added p99 latency in ms (default 50)
  BENCH_LEGACY_API_URL  use this running legacy API instead of starting the stub
`;

/** A command-line mistake: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * Reads the command line and environment into validated options. `npm_config_quick` and
 * `npm_config_serve` are honoured too: when the root script forwards arguments without `--`,
 * npm takes `--quick` and `--serve` as its own settings and passes them on only that way.
 */
export function parseOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        duration: { type: "string" },
        warmup: { type: "string" },
        rounds: { type: "string" },
        connections: { type: "string" },
        rate: { type: "string" },
        scenario: { type: "string", multiple: true },
        users: { type: "string" },
        "log-level": { type: "string" },
        quick: { type: "boolean" },
        serve: { type: "boolean" },
        out: { type: "string" },
        verbose: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    const hint = argv.some((arg) => !arg.startsWith("-"))
      ? " (if npm dropped an option: from the repository root, options go after `--`, as in `npm run bench -- --duration 10`)"
      : "";
    throw new UsageError((error as Error).message + hint);
  }
  const values = parsed.values;
  const quick = values.quick === true || env.npm_config_quick === "true";
  const defaults = quick ? QUICK_DEFAULTS : FULL_DEFAULTS;

  const scenarios: ScenarioName[] = [];
  for (const name of (values.scenario ?? []).flatMap((value) => value.split(",")).map((s) => s.trim()).filter(Boolean)) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`--scenario: unknown scenario "${name}" (use ${SCENARIO_NAMES.join(", ")})`);
    }
    if (!scenarios.includes(name as ScenarioName)) scenarios.push(name as ScenarioName);
  }

  const logLevel = values["log-level"] ?? "warn";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level: must be one of ${LOG_LEVELS.join(", ")}`);
  }

  const legacyApiUrl = env.BENCH_LEGACY_API_URL?.trim() || undefined;
  if (legacyApiUrl !== undefined && !/^https?:\/\/[^/]+/.test(legacyApiUrl)) {
    throw new UsageError("BENCH_LEGACY_API_URL: must be an http(s) URL");
  }

  return Object.freeze({
    durationS: positiveNumber("--duration", values.duration, defaults.durationS, 3600),
    warmupS: nonNegativeNumber("--warmup", values.warmup, defaults.warmupS, 600),
    rounds: integer("--rounds", values.rounds, 2, 2, 100),
    maxExtraRounds: quick ? 0 : 2,
    connections: integer("--connections", values.connections, 64, 1, 10_000),
    rate: integer("--rate", values.rate, 2000, 1, 1_000_000),
    scenarios: Object.freeze(scenarios.length > 0 ? scenarios : [...SCENARIO_NAMES]),
    quick,
    budgetMs: budget(env.BENCH_BUDGET_MS),
    enforceBudget: !quick,
    gatewayLogLevel: logLevel as LogLevel,
    users: integer("--users", values.users, 100, 2, 100_000),
    serve: values.serve === true || env.npm_config_serve === "true",
    legacyApiUrl: legacyApiUrl?.replace(/\/+$/, ""),
    outDir: values.out === undefined ? undefined : path.resolve(invokedFrom(env), values.out),
    verbose: values.verbose === true,
    help: values.help === true,
  });
}

/**
 * Where the person ran the command: `npm run bench` from the repository root runs this script
 * in bench/ (npm runs a workspace's scripts in its folder) and says where it started in
 * INIT_CWD. Paths on the command line and in what is printed are relative to it.
 */
export function invokedFrom(env: Readonly<Record<string, string | undefined>>): string {
  return env.INIT_CWD || process.cwd();
}

/** A path as the person who ran the bench can open it: relative to where they are when inside it, else absolute. */
export function displayPath(file: string, from: string): string {
  const relative = path.relative(from, file);
  return relative === "" || relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
}

function budget(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return 50;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`BENCH_BUDGET_MS: must be a positive number of milliseconds, got "${raw}"`);
  return value;
}

function positiveNumber(flag: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > max) throw new UsageError(`${flag}: must be a number of seconds in (0, ${max}], got "${raw}"`);
  return value;
}

function nonNegativeNumber(flag: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > max) throw new UsageError(`${flag}: must be a number of seconds in [0, ${max}], got "${raw}"`);
  return value;
}

function integer(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`${flag}: must be an integer in [${min}, ${max}], got "${raw}"`);
  return value;
}
