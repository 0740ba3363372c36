/**
 * `npm run bench`: starts the legacy API stub, a local JWKS and the gateway on loopback,
 * measures every scenario against the direct API and through the gateway (alternating, same
 * requests, bounded durations), writes bench/results/<timestamp>.{json,md,svg} and exits
 * non-zero when a run saw an unexpected status or an error, or the gateway broke the budget.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { measureProcesses, modeLabel, readMachineBusyMs, runLoad, type LoadMode } from "./measure.ts";
import { displayPath, invokedFrom, parseOptions, USAGE, UsageError, type BenchOptions } from "./options.ts";
import { exitWithCodeOnSignal, REPO_ROOT, startService, stopAll, waitForOk, type Service } from "./processes.ts";
import {
  compare, isDisturbed, OTHER_CPU_WARNING_CORES, formatCount, formatMs, machineLine, renderMarkdown, renderSummary, renderSvg,
  type BenchReport, type Comparison, type MachineInfo, type RunRecord,
} from "./report.ts";
import { createScenarios, prepareContext, TASKS_PER_USER, type BenchContext, type Target } from "./scenarios.ts";
import { BENCH_AUDIENCE, BENCH_ISSUER, startJwksServer, TokenIssuer, type JwksServer } from "./tokens.ts";

const LEGACY_LOG_LEVEL = "warn";
const CHILD_NODE_ENV = "production";

interface Stack {
  readonly legacyApiUrl: string;
  readonly legacy: Service | undefined;
  readonly gateway: Service;
  readonly jwks: JwksServer;
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const startedAt = new Date();
  const machine = describeMachine();
  console.log(`bench: ${machineLine(machine)}`);
  console.log(`bench: load generator, gateway and legacy API share these ${machine.cores} cores`);

  const issuer = await TokenIssuer.create();
  const stack = await startStack(options, issuer);
  try {
    const ctx = await prepareContext(stack.legacyApiUrl, issuer, options.users);
    if (options.serve) return await serve(stack, ctx);
    const { runs, comparisons } = await measureAll(options, stack, ctx);
    const report = buildReport(options, machine, stack, ctx, startedAt, runs, comparisons);
    writeReports(options, report);
    return report.passed ? 0 : 1;
  } finally {
    await stopAll();
    await stack.jwks.close();
  }
}

/** The machine, as printed with every figure. */
function describeMachine(): MachineInfo {
  const cpus = os.cpus();
  let cpuMHz: number | null = null;
  try {
    const match = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match) cpuMHz = Number(match[1]);
  } catch {
    // Not Linux: the model name is enough.
  }
  let gitCommit: string | null = null;
  try {
    gitCommit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() || null;
  } catch {
    // Not a git checkout.
  }
  const autocannonPackage = createRequire(import.meta.url).resolve("autocannon/package.json");
  return {
    cpuModel: cpus[0]?.model.trim() || "unknown CPU",
    cpuMHz: cpuMHz ?? (cpus[0]?.speed ? cpus[0].speed : null),
    cores: os.availableParallelism(),
    memoryGiB: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    autocannon: (JSON.parse(readFileSync(autocannonPackage, "utf8")) as { version: string }).version,
    gitCommit,
  };
}

async function startStack(options: BenchOptions, issuer: TokenIssuer): Promise<Stack> {
  const jwks = await startJwksServer(issuer.jwks);
  let legacy: Service | undefined;
  let legacyApiUrl = options.legacyApiUrl;
  if (legacyApiUrl === undefined) {
    legacy = await startService({
      name: "legacy-api",
      entry: "legacy-api-stub/src/server.ts",
      env: { LEGACY_API_HOST: "127.0.0.1", LEGACY_API_PORT: "0", LOG_LEVEL: LEGACY_LOG_LEVEL, NODE_ENV: CHILD_NODE_ENV },
    });
    legacyApiUrl = legacy.url;
  }
  const gateway = await startService({
    name: "gateway",
    entry: "gateway/src/server.ts",
    env: {
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_PORT: "0",
      LEGACY_API_URL: legacyApiUrl,
      // Not exercised: /api/auth/* is outside every scenario; it must only be a valid URL.
      AUTH_SERVICE_URL: legacyApiUrl,
      JWKS_URL: jwks.url,
      JWT_ISSUER: BENCH_ISSUER,
      JWT_AUDIENCE: BENCH_AUDIENCE,
      JWT_ALGORITHMS: "EdDSA",
      REVOCATION_SOURCE: "off",
      LOG_LEVEL: options.gatewayLogLevel,
      NODE_ENV: CHILD_NODE_ENV,
    },
  });
  await waitForOk(`${gateway.url}/readyz`);
  if (options.verbose) console.log(`bench: legacy API ${legacyApiUrl}${legacy ? ` (pid ${legacy.pid})` : " (external)"}, gateway ${gateway.url} (pid ${gateway.pid}), JWKS ${jwks.url}`);
  return { legacyApiUrl, legacy, gateway, jwks };
}

/** The token-cache counters of the gateway (from /metrics), to show what each run exercised. */
async function gatewayCounters(gateway: Service): Promise<{ hits: number; misses: number } | null> {
  try {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const read = (name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1] ?? Number.NaN);
    return { hits: read("gateway_token_cache_hits_total"), misses: read("gateway_token_cache_misses_total") };
  } catch {
    return null;
  }
}

async function measureAll(options: BenchOptions, stack: Stack, ctx: BenchContext): Promise<{ runs: RunRecord[]; comparisons: Comparison[] }> {
  const scenarios = createScenarios(ctx);
  const modes: LoadMode[] = [
    { kind: "concurrency", connections: options.connections },
    { kind: "rate", rate: options.rate, connections: options.connections },
  ];
  const runs: RunRecord[] = [];
  const comparisons: Comparison[] = [];
  const urls: Record<Target, string> = { direct: stack.legacyApiUrl, gateway: stack.gateway.url };

  for (const [scenarioIndex, name] of options.scenarios.entries()) {
    const scenario = scenarios[name];
    if (options.verbose) console.log(`\n${name}: ${scenario.summary}`);
    else console.log(`bench: measuring ${name} (${scenarioIndex + 1} of ${options.scenarios.length})…`);
    // The fastest the direct API went so far: an upper bound for sizing the next gateway run.
    const directRps = new Map<string, number>();
    const once = async (mode: LoadMode, target: Target, round: number, durationS: number) => {
      const label = modeLabel(mode);
      const expectedRps = mode.kind === "rate" ? mode.rate : (directRps.get(label) ?? directRps.get("warm-up") ?? 10_000);
      const seed = scenarioIndex * 1000 + (mode.kind === "rate" ? 500 : 0) + round;
      const opened = await scenario.open({ target, durationS, seed, expectedRps });
      const cacheBefore = target === "gateway" ? await gatewayCounters(stack.gateway) : null;
      const busyBefore = readMachineBusyMs();
      const { result: load, costs } = await measureProcesses(
        // The gateway is measured in direct runs too: it should be idle then.
        { gateway: stack.gateway.pid, legacyApi: stack.legacy?.pid, generator: process.pid },
        () => runLoad({ url: urls[target], mode, durationS, source: opened.source }),
      );
      const busyAfter = readMachineBusyMs();
      const ours = [costs.gateway, costs.legacyApi, costs.generator].reduce((sum, cost) => sum + (cost?.cpuMs ?? 0), 0);
      const otherCpuCores = busyBefore === null || busyAfter === null ? null : Math.max(0, busyAfter - busyBefore - ours) / 1000 / load.elapsedS;
      const cacheAfter = target === "gateway" ? await gatewayCounters(stack.gateway) : null;
      const notes = await opened.close();
      for (const service of [stack.gateway, stack.legacy]) {
        if (service?.exited) throw new Error(`${service.name} exited during ${name} (${service.exited}):\n  ${service.stderrTail.join("\n  ")}`);
      }
      if (target === "direct") {
        const key = round === 0 ? "warm-up" : label;
        directRps.set(key, Math.max(load.requestsPerSecond, directRps.get(key) ?? 0));
      }
      const record: RunRecord = {
        scenario: name, mode, modeLabel: round === 0 ? "warm-up" : label, target, round, load, notes, otherCpuCores,
        costs,
        ...(cacheBefore && cacheAfter ? { tokenCache: { hits: cacheAfter.hits - cacheBefore.hits, misses: cacheAfter.misses - cacheBefore.misses } } : {}),
      };
      runs.push(record);
      if (options.verbose) printRun(record);
      return record;
    };

    if (options.warmupS > 0) {
      const warmMode = modes[0]!;
      await once(warmMode, "direct", 0, options.warmupS);
      await once(warmMode, "gateway", 0, options.warmupS);
    }
    // Rounds alternate direct and gateway; a round disturbed by other load is repeated, up to
    // `maxExtraRounds` more, until each mode has `rounds` clean ones (report.ts: roundsToUse).
    const measured: RunRecord[] = [];
    const clean = new Map<string, number>();
    for (let round = 1; round <= options.rounds + options.maxExtraRounds; round++) {
      const pending = modes.filter((mode) => round <= options.rounds || (clean.get(modeLabel(mode)) ?? 0) < options.rounds);
      if (pending.length === 0) break;
      if (round > options.rounds && options.verbose) console.log(`  (round ${round}: an earlier round was disturbed by other load)`);
      for (const mode of pending) {
        const direct = await once(mode, "direct", round, options.durationS);
        const gateway = await once(mode, "gateway", round, options.durationS);
        measured.push(direct, gateway);
        if (!isDisturbed(direct) && !isDisturbed(gateway)) clean.set(modeLabel(mode), (clean.get(modeLabel(mode)) ?? 0) + 1);
      }
    }
    for (const mode of modes) {
      const label = modeLabel(mode);
      comparisons.push(compare(name, mode, label, scenario.expects, measured.filter((run) => run.modeLabel === label), options.budgetMs));
    }
  }
  return { runs, comparisons };
}

function printRun(run: RunRecord): void {
  const { load } = run;
  const round = run.round === 0 ? "warm-up" : `round ${run.round}`;
  const cpu = run.target === "gateway" && run.costs.gateway ? `  gateway CPU ${run.costs.gateway.cpuUsPerRequest.toFixed(0)} µs/req` : "";
  const cache = run.tokenCache ? `  cache hits ${run.tokenCache.hits}/${run.tokenCache.hits + run.tokenCache.misses}` : "";
  const others = run.otherCpuCores !== null && run.otherCpuCores > OTHER_CPU_WARNING_CORES ? `  ⚠ other CPU load ${run.otherCpuCores.toFixed(2)} cores` : "";
  const problems = load.unexpectedCount + load.errors > 0 ? `  ✗ ${load.unexpectedCount} unexpected ${JSON.stringify(load.unexpected)}, ${load.errors} errors` : "";
  console.log(
    `  ${run.modeLabel.padEnd(13)} ${run.target.padEnd(7)} ${round.padEnd(7)} ${formatCount(load.requestsPerSecond).padStart(7)} req/s` +
      `  p50 ${formatMs(load.latency.p50)}  p99 ${formatMs(load.latency.p99)}  max ${formatMs(load.latency.max)} ms${cpu}${cache}${others}${problems}`,
  );
}

function buildReport(
  options: BenchOptions, machine: MachineInfo, stack: Stack, ctx: BenchContext, startedAt: Date,
  runs: readonly RunRecord[], comparisons: readonly Comparison[],
): BenchReport {
  const failures: string[] = [];
  for (const run of runs) {
    const what = `${run.scenario} ${run.modeLabel} ${run.target} ${run.round === 0 ? "warm-up" : `round ${run.round}`}`;
    if (run.load.responses === 0) failures.push(`${what}: no responses`);
    if (run.load.unexpectedCount > 0) {
      const detail = Object.entries(run.load.unexpected).map(([key, n]) => `${key} ×${n}`).join(", ");
      failures.push(`${what}: ${run.load.unexpectedCount} unexpected statuses (${detail})`);
    }
    if (run.load.errors > 0) failures.push(`${what}: ${run.load.errors} connection errors or timeouts`);
    if (run.notes.reusedTokens) failures.push(`${what}: ${run.notes.reusedTokens} tokens were sent to the gateway twice (pool too small): figures include cache hits`);
  }
  for (const c of comparisons) {
    if (c.overBudget && options.enforceBudget) {
      const why = c.disturbed ? " (these rounds were disturbed by other load on the machine: run again on a quiet machine)" : "";
      failures.push(`${c.scenario} ${c.modeLabel}: the gateway added ${formatMs(c.addedP99Ms)} ms at p99, over the ${options.budgetMs} ms budget${why}`);
    }
  }
  return {
    schema: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    settings: {
      ...options,
      disturbedAboveCores: OTHER_CPU_WARNING_CORES,
      tokenAlgorithm: "EdDSA",
      tokenBytes: ctx.tokens[0]?.token.length ?? 0,
      tokens: ctx.tokens.length,
      tasksPerUser: TASKS_PER_USER,
      legacyApiLogLevel: stack.legacy ? LEGACY_LOG_LEVEL : "external",
      childNodeEnv: CHILD_NODE_ENV,
      jwksFetchesByGateway: stack.jwks.fetches(),
      sharedCores: `load generator, gateway and legacy API share ${machine.cores} cores`,
    },
    services: {
      ...(stack.legacy ? { legacyApi: stack.legacy.command } : { legacyApi: `external: ${stack.legacyApiUrl}` }),
      gateway: stack.gateway.command,
      jwks: stack.jwks.url,
    },
    comparisons,
    runs,
    failures,
    passed: failures.length === 0,
  };
}

function writeReports(options: BenchOptions, report: BenchReport): void {
  const dir = options.outDir ?? path.join(REPO_ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
  const markdown = renderMarkdown(report);
  const files = { json: path.join(dir, `${stamp}.json`), md: path.join(dir, `${stamp}.md`), svg: path.join(dir, `${stamp}.svg`) };
  writeFileSync(files.json, JSON.stringify(report, null, 2) + "\n");
  writeFileSync(files.md, markdown + `\nFiles: \`${path.basename(files.json)}\`, chart \`${path.basename(files.svg)}\`.\n`);
  writeFileSync(files.svg, renderSvg(report));
  for (const line of renderSummary(report, displayPath(files.md, invokedFrom(process.env)))) console.log(`bench: ${line}`);
}

/** `--serve`: everything started and seeded; print how to measure it with an independent tool. */
async function serve(stack: Stack, ctx: BenchContext): Promise<number> {
  const user = ctx.users[0]!;
  const token = ctx.tokensByUser[0]![0]!;
  const dir = path.join(REPO_ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const envFile = path.join(dir, "serve.env");
  writeFileSync(envFile, [
    `DIRECT_URL=${stack.legacyApiUrl}`,
    `GATEWAY_URL=${stack.gateway.url}`,
    `BENCH_USER=${user}`,
    `BENCH_TOKEN=${token}`,
    "",
  ].join("\n"));
  console.log(`
Serving until Ctrl-C (tokens are valid for one hour). Variables written to ${path.relative(process.cwd(), envFile)}:
  set -a; . ${envFile}; set +a

read-hot with autocannon (one user, one token: after the first request every check is a cache hit):
  npx autocannon -c 64 -d 10 -H "authorization=Bearer $BENCH_TOKEN" "$DIRECT_URL/api/$BENCH_USER/tasks"
  npx autocannon -c 64 -d 10 -H "authorization=Bearer $BENCH_TOKEN" "$GATEWAY_URL/api/$BENCH_USER/tasks"
with wrk (microsecond latency percentiles):
  wrk -t1 -c64 -d10s --latency -H "Authorization: Bearer $BENCH_TOKEN" "$GATEWAY_URL/api/$BENCH_USER/tasks"
the gateway's own view: curl -s "$GATEWAY_URL/metrics" | grep -E 'token_cache|requests_total'
`);
  exitWithCodeOnSignal(0);
  await new Promise<never>(() => {
    // Until SIGINT / SIGTERM: processes.ts stops the services and exits.
  });
  return 0;
}

main().then(
  // Exit at once: idle keep-alive sockets to the stopped services must not hold the process.
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    await stopAll();
    process.exit(1);
  },
);
