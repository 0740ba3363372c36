import type { LoadMode, LoadResult, ProcessCost } from "./measure.ts";
import type { ScenarioName } from "./options.ts";
import type { RunNotes, Target } from "./scenarios.ts";
import { median } from "./stats.ts";

/** The machine the figures come from; printed with them (STYLE: benchmarks print the machine). */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cpuMHz: number | null;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly autocannon: string;
  readonly gitCommit: string | null;
}

/** One autocannon run, measured or warm-up, with what each process spent during it. */
export interface RunRecord {
  readonly scenario: ScenarioName;
  readonly mode: LoadMode;
  readonly modeLabel: string;
  readonly target: Target;
  /** 1-based; 0 for the warm-up. */
  readonly round: number;
  readonly load: LoadResult;
  readonly costs: {
    readonly gateway: ProcessCost | null;
    readonly legacyApi: ProcessCost | null;
    readonly generator: ProcessCost | null;
  };
  readonly notes: RunNotes;
  /**
   * Cores' worth of CPU the machine spent busy during the run outside the measured processes
   * (other programs, and kernel work not charged to a process); `null` when unknown.
   */
  readonly otherCpuCores: number | null;
  /** Gateway runs: its token-cache hits and misses during the run (from /metrics). */
  readonly tokenCache?: { readonly hits: number; readonly misses: number };
}

/** Above this much CPU used outside the measured processes during a run, it is flagged as disturbed. */
export const OTHER_CPU_WARNING_CORES = 0.3;

/** A fixed-rate run with more than this share of late sends was queueing: saturated. */
export const LATE_SHARE_SATURATED = 0.05;

/** Whether something outside the measured processes competed for the CPU during the run. */
export function isDisturbed(run: RunRecord): boolean {
  return run.otherCpuCores !== null && run.otherCpuCores > OTHER_CPU_WARNING_CORES;
}

/**
 * The measured rounds a comparison uses: those where neither the direct nor the gateway run
 * was disturbed, when there are at least two of them; otherwise every measured round.
 */
export function roundsToUse(runs: readonly RunRecord[]): { rounds: number[]; disturbed: boolean } {
  const all = [...new Set(runs.filter((run) => run.round > 0).map((run) => run.round))].sort((a, b) => a - b);
  const clean = all.filter((round) => runs.filter((run) => run.round === round).every((run) => !isDisturbed(run)));
  return clean.length >= 2 ? { rounds: clean, disturbed: false } : { rounds: all, disturbed: clean.length < all.length };
}

/** The medians over the measured rounds of one scenario, mode and target. */
export interface Figures {
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
  /** p99 from writing each request (the service time), beside `p99`, which at a fixed rate counts from the scheduled send. */
  readonly serviceP99: number;
  /** Sums over the measured rounds. */
  readonly responses: number;
  readonly non2xx: number;
  readonly unexpected: number;
  readonly errors: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly legacyApiCpuUsPerRequest: number | null;
  readonly generatorCpuUsPerRequest: number | null;
  /** Fixed-rate mode: the smallest share of the target rate reached in a round. */
  readonly rateAchieved: number | null;
  /** Fixed-rate mode: the largest share of sends that left late (behind an outstanding answer) in a round. */
  readonly lateShare: number | null;
}

export interface Comparison {
  readonly scenario: ScenarioName;
  readonly mode: LoadMode;
  readonly modeLabel: string;
  readonly expects: Readonly<Record<Target, string>>;
  readonly direct: Figures;
  readonly gateway: Figures;
  /** gateway req/s ÷ direct req/s. */
  readonly throughputRatio: number;
  readonly addedP50Ms: number;
  readonly addedP99Ms: number;
  readonly gatewayCpuUsPerRequest: number | null;
  readonly gatewayPeakRssMiB: number | null;
  /** Share of the gateway's token checks answered from its cache (read-hot ≈ 1, read-cold 0). */
  readonly gatewayCacheHitShare: number | null;
  /** Fixed-rate runs that reached under 95% of the rate: their latency includes queueing. */
  readonly saturated: boolean;
  /**
   * Whether the latency budget is judged here: on fixed-rate runs only. At fixed concurrency
   * latency is queueing (Little's law: connections ÷ throughput), so its added p99 restates
   * the throughput ratio and grows with the number of connections chosen.
   */
  readonly budgetApplies: boolean;
  readonly overBudget: boolean;
  /** The measured rounds the medians come from (rounds disturbed by other load are left out when two clean ones exist). */
  readonly roundsUsed: readonly number[];
  /** True when fewer than two undisturbed rounds existed: these figures include other load. */
  readonly disturbed: boolean;
}

export interface BenchReport {
  readonly schema: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: MachineInfo;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly services: Readonly<Record<string, string>>;
  readonly comparisons: readonly Comparison[];
  readonly runs: readonly RunRecord[];
  readonly failures: readonly string[];
  readonly passed: boolean;
}

const nullableMedian = (values: readonly (number | null | undefined)[]): number | null => {
  const present = values.filter((v): v is number => typeof v === "number" && !Number.isNaN(v));
  return present.length === 0 ? null : median(present);
};

/** Medians over the measured rounds of one scenario, mode and target. */
export function figuresOf(runs: readonly RunRecord[]): Figures {
  const measured = runs.filter((run) => run.round > 0);
  const statuses: Record<string, number> = {};
  for (const run of measured) {
    for (const [status, count] of Object.entries(run.load.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  }
  const sum = (pick: (run: RunRecord) => number) => measured.reduce((total, run) => total + pick(run), 0);
  const rates = measured.map((run) => run.load.rateAchieved).filter((v): v is number => v !== null);
  return {
    requestsPerSecond: median(measured.map((run) => run.load.requestsPerSecond)),
    p50: median(measured.map((run) => run.load.latency.p50)),
    p90: median(measured.map((run) => run.load.latency.p90)),
    p99: median(measured.map((run) => run.load.latency.p99)),
    max: median(measured.map((run) => run.load.latency.max)),
    mean: median(measured.map((run) => run.load.latency.mean)),
    serviceP99: median(measured.map((run) => run.load.serviceTime.p99)),
    responses: sum((run) => run.load.responses),
    non2xx: sum((run) => run.load.non2xx),
    unexpected: sum((run) => run.load.unexpectedCount),
    errors: sum((run) => run.load.errors),
    statuses,
    legacyApiCpuUsPerRequest: nullableMedian(measured.map((run) => run.costs.legacyApi?.cpuUsPerRequest)),
    generatorCpuUsPerRequest: nullableMedian(measured.map((run) => run.costs.generator?.cpuUsPerRequest)),
    rateAchieved: rates.length === 0 ? null : Math.min(...rates),
    lateShare: rates.length === 0 ? null : Math.max(...measured.map((run) => run.load.lateSends / Math.max(1, run.load.responses))),
  };
}

/** Puts the direct and gateway figures of one scenario and mode side by side. */
export function compare(
  scenario: ScenarioName,
  mode: LoadMode,
  modeLabel: string,
  expects: Readonly<Record<Target, string>>,
  runs: readonly RunRecord[],
  budgetMs: number,
): Comparison {
  const { rounds, disturbed } = roundsToUse(runs);
  const used = runs.filter((run) => rounds.includes(run.round));
  const direct = figuresOf(used.filter((run) => run.target === "direct"));
  const gatewayRuns = used.filter((run) => run.target === "gateway" && run.round > 0);
  const gateway = figuresOf(gatewayRuns);
  const addedP99Ms = gateway.p99 - direct.p99;
  const peaks = gatewayRuns.map((run) => run.costs.gateway?.peakRssBytes).filter((v): v is number => typeof v === "number");
  return {
    scenario,
    mode,
    modeLabel,
    expects,
    direct,
    gateway,
    throughputRatio: gateway.requestsPerSecond / direct.requestsPerSecond,
    addedP50Ms: gateway.p50 - direct.p50,
    addedP99Ms,
    gatewayCpuUsPerRequest: nullableMedian(gatewayRuns.map((run) => run.costs.gateway?.cpuUsPerRequest)),
    gatewayPeakRssMiB: peaks.length === 0 ? null : Math.max(...peaks) / 2 ** 20,
    gatewayCacheHitShare: cacheHitShare(gatewayRuns),
    saturated: mode.kind === "rate" && [direct, gateway].some((f) => (f.rateAchieved !== null && f.rateAchieved < 0.95) || (f.lateShare !== null && f.lateShare > LATE_SHARE_SATURATED)),
    budgetApplies: mode.kind === "rate",
    overBudget: mode.kind === "rate" && addedP99Ms > budgetMs,
    roundsUsed: rounds,
    disturbed,
  };
}

function cacheHitShare(runs: readonly RunRecord[]): number | null {
  let hits = 0;
  let checks = 0;
  for (const run of runs) {
    if (!run.tokenCache || !Number.isFinite(run.tokenCache.hits) || !Number.isFinite(run.tokenCache.misses)) continue;
    hits += run.tokenCache.hits;
    checks += run.tokenCache.hits + run.tokenCache.misses;
  }
  return checks === 0 ? null : hits / checks;
}

// --- formatting ----------------------------------------------------------------------------

/** Milliseconds with the precision the value deserves: 0.412, 3.41, 27.3, 1204. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  const abs = Math.abs(ms);
  const digits = abs < 1 ? 3 : abs < 10 ? 2 : abs < 100 ? 1 : 0;
  return ms.toFixed(digits);
}

/** Signed difference in ms: +0.412, −1.20. */
export function formatDeltaMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  const text = formatMs(Math.abs(ms));
  return ms < 0 ? `−${text}` : `+${text}`;
}

/** An integer with thousands separators: 12,345. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return "–";
  return Math.round(value).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function formatOptional(value: number | null, digits: number): string {
  return value === null || !Number.isFinite(value) ? "n/a" : value.toFixed(digits);
}

function formatStatuses(statuses: Readonly<Record<string, number>>): string {
  return Object.entries(statuses).map(([status, count]) => `${status}×${formatCount(count)}`).join(" ");
}

/** The one-line description of the machine, printed above every table and chart. */
export function machineLine(machine: MachineInfo): string {
  const mhz = machine.cpuMHz ? ` @ ${Math.round(machine.cpuMHz)} MHz` : "";
  return `${machine.cpuModel}${mhz}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB, ${machine.os}, Node ${machine.node}, autocannon ${machine.autocannon}`;
}

// --- Markdown ------------------------------------------------------------------------------

/** The summary printed at the end of a run and written beside the JSON. */
export function renderMarkdown(report: BenchReport): string {
  const s = report.settings;
  const lines: string[] = [];
  lines.push(`# Gateway benchmark — ${report.startedAt}`, "");
  lines.push(`**Machine:** ${machineLine(report.machine)}${report.machine.gitCommit ? `; commit ${report.machine.gitCommit}` : ""}.`);
  lines.push(`The load generator (autocannon, in the bench process), the gateway and the legacy API stub all run on these ${report.machine.cores} cores: every figure includes that contention.`, "");
  lines.push(
    `**Settings:** ${s.quick ? "quick mode, " : ""}${s.durationS} s per run, ${s.rounds} rounds (direct and gateway runs alternate; figures are medians), ` +
      `warm-up ${s.warmupS} s per scenario and target, ${s.maxExtraRounds ? `a round disturbed by other load on the machine repeated (up to ${s.maxExtraRounds} more) and left out of the medians when two clean rounds exist` : "rounds disturbed by other load flagged, not repeated"}, ${s.connections} connections (fixed concurrency) and ${s.rate} req/s over ${s.connections} connections (fixed rate), ` +
      `gateway LOG_LEVEL=${s.gatewayLogLevel}, ${s.users} users, EdDSA tokens of ${s.tokenBytes} bytes, budget: added p99 ≤ ${s.budgetMs} ms at the fixed rate${s.enforceBudget ? "" : " (reported, not enforced in quick mode)"}.`,
    "",
  );

  lines.push("## Latency and throughput", "");
  lines.push("| scenario | load | target | req/s | p50 ms | p90 ms | p99 ms | max ms | p99 from writing ms | statuses | unexpected | errors |");
  lines.push("|---|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|");
  for (const c of report.comparisons) {
    for (const target of ["direct", "gateway"] as const) {
      const f = c[target];
      const short = c.mode.kind === "rate" && ((f.rateAchieved !== null && f.rateAchieved < 0.95) || (f.lateShare !== null && f.lateShare > LATE_SHARE_SATURATED)) ? " ⚠" : "";
      lines.push(
        `| ${c.scenario} | ${c.modeLabel} | ${target} | ${formatCount(f.requestsPerSecond)}${short} | ${formatMs(f.p50)} | ${formatMs(f.p90)} | ${formatMs(f.p99)} | ${formatMs(f.max)} | ${formatMs(f.serviceP99)} | ${formatStatuses(f.statuses)} | ${f.unexpected} | ${f.errors} |`,
      );
    }
  }
  lines.push("");

  lines.push("## What the gateway costs", "");
  lines.push("| scenario | load | gateway/direct req/s | added p50 ms | added p99 ms | gateway CPU µs/req | token cache hits | stub CPU µs/req (direct / via gateway) | gateway peak RSS MiB | budget |");
  lines.push("|---|---|--:|--:|--:|--:|--:|--:|--:|---|");
  for (const c of report.comparisons) {
    const budget = !c.budgetApplies ? "– (capacity)" : c.overBudget ? `**over** (${formatDeltaMs(c.addedP99Ms)} > ${s.budgetMs} ms)` : "ok";
    lines.push(
      `| ${c.scenario} | ${c.modeLabel} | ${c.throughputRatio.toFixed(2)} | ${formatDeltaMs(c.addedP50Ms)} | ${formatDeltaMs(c.addedP99Ms)} | ${formatOptional(c.gatewayCpuUsPerRequest, 0)} | ${c.gatewayCacheHitShare === null ? "n/a" : `${(c.gatewayCacheHitShare * 100).toFixed(1)}%`} | ${formatOptional(c.direct.legacyApiCpuUsPerRequest, 0)} / ${formatOptional(c.gateway.legacyApiCpuUsPerRequest, 0)} | ${formatOptional(c.gatewayPeakRssMiB, 1)} | ${budget}${c.saturated ? " ⚠ saturated" : ""}${c.disturbed ? " ⚠ disturbed" : ""} |`,
    );
  }
  lines.push("");
  lines.push("Expected statuses: " + [...new Map(report.comparisons.map((c) => [c.scenario, c.expects])).entries()]
    .map(([scenario, e]) => `${scenario}: direct ${e.direct}; gateway ${e.gateway}`).join(". ") + ".");
  lines.push("");
  lines.push(
    "Latency is measured per request by the load generator, to the last byte of the answer, over every request (exact percentiles): at fixed concurrency from writing the request; " +
      "at the fixed rate from the moment the schedule said to send it, so a request held back behind a slow answer counts its wait (the correction for coordinated omission wrk2 makes). " +
      "\"p99 from writing\" leaves that wait out, to show what the correction adds. " +
      "Fixed-concurrency runs show the most each side can serve here; fixed-rate runs show the latency a request pays below saturation, and the budget is judged on them: " +
      "at fixed concurrency latency is queueing (connections ÷ throughput), so its added p99 restates the throughput ratio and grows with the connection count. " +
      `⚠ marks a fixed-rate run that reached under 95% of the rate or sent over ${LATE_SHARE_SATURATED * 100}% of its requests late, behind an outstanding answer (saturated: its latency is mostly queueing). ` +
      "CPU µs/req is the process's user+system CPU time during the run divided by the responses.",
  );
  lines.push("");
  const disturbed = report.runs.filter(isDisturbed);
  if (disturbed.length > 0) {
    const worst = Math.max(...disturbed.map((run) => run.otherCpuCores!));
    const left = report.comparisons.filter((c) => c.disturbed).length;
    lines.push(
      `⚠ During ${disturbed.length} of ${report.runs.length} runs the machine spent more than ${OTHER_CPU_WARNING_CORES} cores outside the measured processes (up to ${worst.toFixed(2)}): ` +
        "something else was competing for the CPU (`otherCpuCores` in the JSON). " +
        (left > 0 ? `${left} comparison(s) still had fewer than two clean rounds and are marked ⚠ disturbed.` : "The medians use only the clean rounds."),
      "",
    );
  }
  if (report.failures.length > 0) {
    lines.push("## Failures", "", ...report.failures.map((f) => `- ${f}`), "");
  }
  lines.push(`**Verdict:** ${report.passed ? "pass" : "FAIL"}.`, "");
  return lines.join("\n");
}

// --- terminal summary ----------------------------------------------------------------------

/** At most this many failure lines in the terminal; the Markdown report lists them all. */
const SUMMARY_MAX_FAILURES = 5;

/**
 * What the terminal shows at the end of a run: one line per scenario (the added p99 at the
 * fixed rate against the budget, the throughput ratio at fixed concurrency, the gateway's CPU
 * per request, and any ⚠), the verdict, and where the full report is. The tables are in the
 * Markdown file, not on the screen.
 */
export function renderSummary(report: BenchReport, reportPath: string): string[] {
  const s = report.settings;
  const lines: string[] = [];
  const scenarios = [...new Set(report.comparisons.map((c) => c.scenario))];
  const width = Math.max(...scenarios.map((name) => name.length));
  for (const scenario of scenarios) {
    const rate = report.comparisons.find((c) => c.scenario === scenario && c.mode.kind === "rate");
    const capacity = report.comparisons.find((c) => c.scenario === scenario && c.mode.kind === "concurrency");
    const failed = report.failures.some((failure) => failure.startsWith(`${scenario} `));
    const parts: string[] = [];
    if (rate) {
      const over = rate.overBudget ? (s.enforceBudget ? " OVER" : " over, not enforced") : "";
      parts.push(`added p99 ${formatDeltaMs(rate.addedP99Ms)} ms at ${rate.modeLabel} (budget ${String(s.budgetMs)} ms${over})`);
    }
    if (capacity) parts.push(`throughput ×${capacity.throughputRatio.toFixed(2)} at ${capacity.modeLabel}`);
    const cpu = rate?.gatewayCpuUsPerRequest ?? capacity?.gatewayCpuUsPerRequest ?? null;
    if (cpu !== null) parts.push(`gateway ${cpu.toFixed(0)} µs CPU/req`);
    const flags = [rate?.saturated ? "⚠ saturated" : "", rate?.disturbed || capacity?.disturbed ? "⚠ disturbed" : ""].filter(Boolean).join(" ");
    lines.push(`${scenario.padEnd(width)}  ${failed ? "FAIL" : "ok  "}  ${parts.join(" · ")}${flags ? `  ${flags}` : ""}`);
  }
  const quick = s.quick ? " (quick run: the budget is reported, not enforced)" : "";
  lines.push(report.passed ? `verdict: pass${quick}` : `verdict: FAIL, ${report.failures.length} problem(s)${quick}:`);
  for (const failure of report.failures.slice(0, SUMMARY_MAX_FAILURES)) lines.push(`  - ${failure}`);
  if (report.failures.length > SUMMARY_MAX_FAILURES) lines.push(`  … and ${report.failures.length - SUMMARY_MAX_FAILURES} more, in the report`);
  lines.push(`report: ${reportPath} (beside it: the same name in .json with every run, and .svg, a chart for any browser)`);
  return lines;
}

// --- SVG chart -----------------------------------------------------------------------------

const COLORS = { direct: "#4C78A8", gateway: "#E45756" } as const;
const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A round step (1, 2, 2.5 or 5 × 10^k) at or above `value`. */
export function niceStep(value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value * (1 - 1e-9)) return step * magnitude;
  }
  return 10 * magnitude;
}

/** A y axis from 0 covering `max` in about `ticks` round steps. */
export function niceAxis(max: number, ticks = 5): { readonly max: number; readonly step: number } {
  const step = niceStep((max > 0 ? max : 1) / ticks);
  return { max: Math.max(step, Math.ceil(max / step - 1e-9) * step), step };
}

function formatTick(value: number): string {
  return Number(value.toPrecision(6)).toString();
}

/**
 * A self-contained SVG (no scripts, fonts or links). At the top, one panel with the gateway's
 * added p99 at the fixed rate for every scenario on one scale, against the budget line (what
 * the verdict is judged on). Below, one panel per scenario and load mode: p50 / p90 / p99 of
 * the direct API and the gateway side by side, with values on the bars, the throughput of each
 * side and the maximum under the panel; the panels of one load mode share one scale, so
 * scenarios compare by eye.
 */
export function renderSvg(report: BenchReport): string {
  const panelW = 470;
  const panelH = 250;
  const gap = 24;
  const left = 24;
  const budgetPanelTop = 112;
  const budgetPanelH = 240;
  const top = budgetPanelTop + budgetPanelH + gap;
  const modes = [...new Set(report.comparisons.map((c) => c.modeLabel))];
  const scenarios = [...new Set(report.comparisons.map((c) => c.scenario))];
  const width = left * 2 + Math.max(1, modes.length) * panelW + (Math.max(1, modes.length) - 1) * gap;
  const height = top + scenarios.length * (panelH + gap) + 40;
  // One y axis per load mode, over every scenario's bars (headroom above the tallest for its label).
  const axes = new Map(modes.map((modeLabel) => {
    const values = report.comparisons.filter((c) => c.modeLabel === modeLabel)
      .flatMap((c) => [c.direct.p50, c.direct.p90, c.direct.p99, c.gateway.p50, c.gateway.p90, c.gateway.p99]).filter(Number.isFinite);
    return [modeLabel, niceAxis(Math.max(...values, 0.001) * 1.12)] as const;
  }));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<title>Gateway benchmark ${escapeXml(report.startedAt)}: latency percentiles, direct API vs through the gateway</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="30" font-size="20" font-weight="bold" fill="#222">Latency per scenario: direct legacy API vs through the gateway</text>`);
  out.push(`<text x="${left}" y="52" fill="#444">${escapeXml(machineLine(report.machine))}; load generator, gateway and API share these cores.</text>`);
  const s = report.settings;
  out.push(`<text x="${left}" y="70" fill="#444">${escapeXml(`Medians of ${s.rounds} alternating rounds of ${s.durationS} s; gateway LOG_LEVEL=${s.gatewayLogLevel}; budget: added p99 ≤ ${s.budgetMs} ms at the fixed rate; ${report.passed ? "verdict: pass" : "verdict: FAIL"}. Panels of one load mode share one scale.`)}</text>`);
  // Legend.
  out.push(`<rect x="${left}" y="82" width="14" height="14" fill="${COLORS.direct}"/><text x="${left + 20}" y="94" fill="#222">direct (legacy API)</text>`);
  out.push(`<rect x="${left + 160}" y="82" width="14" height="14" fill="${COLORS.gateway}"/><text x="${left + 180}" y="94" fill="#222">through the gateway</text>`);
  out.push(...budgetPanel(report, left, budgetPanelTop, width - left * 2, budgetPanelH));

  scenarios.forEach((scenario, row) => {
    modes.forEach((modeLabel, col) => {
      const c = report.comparisons.find((x) => x.scenario === scenario && x.modeLabel === modeLabel);
      const x0 = left + col * (panelW + gap);
      const y0 = top + row * (panelH + gap);
      out.push(`<g transform="translate(${x0},${y0})">`);
      out.push(`<rect width="${panelW}" height="${panelH}" fill="#fafafa" stroke="#ddd"/>`);
      out.push(`<text x="12" y="22" font-size="14" font-weight="bold" fill="#222">${escapeXml(`${scenario} · ${modeLabel}`)}</text>`);
      if (!c) {
        out.push(`<text x="12" y="60" fill="#888">not run</text></g>`);
        return;
      }
      const ratio = `${formatCount(c.direct.requestsPerSecond)} → ${formatCount(c.gateway.requestsPerSecond)} req/s (×${c.throughputRatio.toFixed(2)})`;
      const added = `added p50 ${formatDeltaMs(c.addedP50Ms)} ms, p99 ${formatDeltaMs(c.addedP99Ms)} ms` +
        `${c.budgetApplies ? (c.overBudget ? " (over budget)" : "") : " (capacity run)"}${c.saturated ? " ⚠ saturated" : ""}${c.disturbed ? " ⚠ disturbed" : ""}`;
      out.push(`<text x="12" y="40" fill="#444">${escapeXml(ratio)}</text>`);
      out.push(`<text x="12" y="56" fill="${c.overBudget ? "#b00020" : "#444"}">${escapeXml(added)}</text>`);

      const plotX = 52;
      const plotY = 72;
      const plotW = panelW - plotX - 16;
      const plotH = panelH - plotY - 44;
      const axis = axes.get(modeLabel)!;
      const yOf = (v: number) => plotY + plotH - (v / axis.max) * plotH;
      for (let v = 0; v <= axis.max + axis.step / 2; v += axis.step) {
        const y = yOf(v);
        out.push(`<line x1="${plotX}" x2="${plotX + plotW}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e4e4e4"/>`);
        out.push(`<text x="${plotX - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#666" font-size="11">${formatTick(v)}</text>`);
      }
      out.push(`<text x="12" y="${plotY + plotH / 2}" transform="rotate(-90 12 ${plotY + plotH / 2})" text-anchor="middle" fill="#666" font-size="11">ms</text>`);
      const groups = [["p50", c.direct.p50, c.gateway.p50], ["p90", c.direct.p90, c.gateway.p90], ["p99", c.direct.p99, c.gateway.p99]] as const;
      const groupW = plotW / groups.length;
      const barW = Math.min(56, groupW * 0.32);
      groups.forEach(([label, direct, gateway], g) => {
        const cx = plotX + groupW * g + groupW / 2;
        ([["direct", direct, cx - barW - 2], ["gateway", gateway, cx + 2]] as const).forEach(([target, value, x]) => {
          if (!Number.isFinite(value)) return;
          const y = yOf(value);
          out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${(plotY + plotH - y).toFixed(1)}" fill="${COLORS[target]}"><title>${escapeXml(`${target} ${label}: ${formatMs(value)} ms`)}</title></rect>`);
          out.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" fill="#222" font-size="11">${formatMs(value)}</text>`);
        });
        out.push(`<text x="${cx.toFixed(1)}" y="${plotY + plotH + 16}" text-anchor="middle" fill="#222">${label}</text>`);
      });
      out.push(`<line x1="${plotX}" x2="${plotX + plotW}" y1="${plotY + plotH}" y2="${plotY + plotH}" stroke="#999"/>`);
      out.push(`<text x="12" y="${panelH - 10}" fill="#666" font-size="11">${escapeXml(`max: direct ${formatMs(c.direct.max)} ms, gateway ${formatMs(c.gateway.max)} ms · gateway CPU ${formatOptional(c.gatewayCpuUsPerRequest, 0)} µs/req`)}</text>`);
      out.push(`</g>`);
    });
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/**
 * The verdict in one picture: the added p99 of each scenario at the fixed rate, one bar each
 * on one scale, which always reaches the budget so the dashed budget line is on it. A bar
 * below zero is a gateway faster than the direct API at p99 (its refusals never reach the API).
 */
function budgetPanel(report: BenchReport, x0: number, y0: number, panelW: number, panelH: number): string[] {
  const out: string[] = [];
  const budget = Number(report.settings.budgetMs);
  const rated = report.comparisons.filter((c) => c.mode.kind === "rate");
  const label = rated[0]?.modeLabel ?? "the fixed rate";
  out.push(`<g transform="translate(${x0},${y0})">`);
  out.push(`<rect width="${panelW}" height="${panelH}" fill="#fafafa" stroke="#ddd"/>`);
  out.push(`<text x="12" y="22" font-size="14" font-weight="bold" fill="#222">${escapeXml(`Added p99 through the gateway at ${label}, every scenario on one scale, against the ${formatTick(budget)} ms budget`)}</text>`);
  if (rated.length === 0 || !Number.isFinite(budget)) {
    out.push(`<text x="12" y="60" fill="#888">no fixed-rate runs</text></g>`);
    return out;
  }
  const plotX = 60;
  const plotY = 40;
  const plotW = panelW - plotX - 20;
  const plotH = panelH - plotY - 40;
  const added = rated.map((c) => c.addedP99Ms).filter(Number.isFinite);
  const high = niceAxis(Math.max(budget, ...added, 0.001) * 1.1);
  const lowest = Math.min(0, ...added);
  const low = lowest < 0 ? -Math.ceil(-lowest / high.step) * high.step : 0;
  const span = high.max - low;
  const yOf = (v: number) => plotY + plotH - ((v - low) / span) * plotH;
  for (let v = low; v <= high.max + high.step / 2; v += high.step) {
    const y = yOf(v);
    out.push(`<line x1="${plotX}" x2="${plotX + plotW}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="${Math.abs(v) < 1e-9 ? "#999" : "#e4e4e4"}"/>`);
    out.push(`<text x="${plotX - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#666" font-size="11">${formatTick(Number(v.toPrecision(6)))}</text>`);
  }
  out.push(`<text x="14" y="${plotY + plotH / 2}" transform="rotate(-90 14 ${plotY + plotH / 2})" text-anchor="middle" fill="#666" font-size="11">added p99, ms</text>`);
  const slot = plotW / rated.length;
  const barW = Math.min(80, slot * 0.5);
  rated.forEach((c, i) => {
    const cx = plotX + slot * i + slot / 2;
    const value = c.addedP99Ms;
    if (Number.isFinite(value)) {
      const y = yOf(Math.max(0, value));
      const h = Math.abs(yOf(value) - yOf(0));
      const fill = c.overBudget ? "#b00020" : COLORS.gateway;
      out.push(`<rect class="added-p99" x="${(cx - barW / 2).toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.max(h, 0.5).toFixed(1)}" fill="${fill}"><title>${escapeXml(`${c.scenario}: added p99 ${formatDeltaMs(value)} ms at ${c.modeLabel}${c.overBudget ? ", over the budget" : ""}`)}</title></rect>`);
      const labelY = value >= 0 ? y - 4 : yOf(value) + 14;
      out.push(`<text x="${cx.toFixed(1)}" y="${labelY.toFixed(1)}" text-anchor="middle" fill="#222" font-size="11">${formatDeltaMs(value)}</text>`);
    }
    const flags = `${c.saturated ? " ⚠ saturated" : ""}${c.disturbed ? " ⚠ disturbed" : ""}`;
    out.push(`<text x="${cx.toFixed(1)}" y="${plotY + plotH + 16}" text-anchor="middle" fill="#222">${escapeXml(c.scenario + flags)}</text>`);
  });
  const budgetY = yOf(budget).toFixed(1);
  out.push(`<line class="budget" x1="${plotX}" x2="${plotX + plotW}" y1="${budgetY}" y2="${budgetY}" stroke="#b00020" stroke-width="2" stroke-dasharray="6 4"/>`);
  out.push(`<text x="${plotX + plotW - 4}" y="${(Number(budgetY) - 6).toFixed(1)}" text-anchor="end" fill="#b00020" font-size="11">${escapeXml(`budget ${formatTick(budget)} ms${report.settings.enforceBudget ? "" : " (not enforced in quick mode)"}`)}</text>`);
  out.push(`</g>`);
  return out;
}
