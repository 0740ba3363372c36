import { describe, expect, it } from "vitest";
import type { LoadMode, LoadResult } from "../src/measure.ts";
import {
  compare, figuresOf, formatCount, formatDeltaMs, formatMs, niceAxis, renderMarkdown, renderSummary, renderSvg,
  type BenchReport, type MachineInfo, type RunRecord,
} from "../src/report.ts";
import type { Target } from "../src/scenarios.ts";

const CONCURRENCY: LoadMode = { kind: "concurrency", connections: 64 };
const RATE: LoadMode = { kind: "rate", rate: 2000, connections: 64 };

function load(rps: number, p50: number, p99: number, extra: Partial<LoadResult> = {}): LoadResult {
  const latency = { count: Math.round(rps * 5), mean: p50 * 1.1, p50, p90: (p50 + p99) / 2, p99, max: p99 * 2 };
  return {
    responses: Math.round(rps * 5), elapsedS: 5, requestsPerSecond: rps,
    latency, serviceTime: latency,
    statuses: { 200: Math.round(rps * 5) }, unexpected: {}, unexpectedCount: 0, non2xx: 0, errors: 0, timeouts: 0,
    lateSends: 0, rateAchieved: null, ...extra,
  };
}

function run(target: Target, round: number, result: LoadResult, mode = CONCURRENCY, gatewayCpuUs = 30): RunRecord {
  const cost = (us: number) => ({ cpuMs: (us * result.responses) / 1000, cpuUsPerRequest: us, peakRssBytes: 100 * 2 ** 20, peakIsPerRun: true });
  return {
    scenario: "read-hot", mode, modeLabel: mode.kind === "rate" ? "2000 req/s" : "64 conns", target, round, load: result,
    costs: { gateway: target === "gateway" ? cost(gatewayCpuUs) : null, legacyApi: cost(100), generator: cost(60) }, notes: {}, otherCpuCores: 0.05,
    ...(target === "gateway" ? { tokenCache: { hits: 99 * round, misses: round } } : {}),
  };
}

const machine: MachineInfo = {
  cpuModel: "Test CPU <model>", cpuMHz: 2600, cores: 2, memoryGiB: 8, os: "Linux test", node: "v20.20.2", autocannon: "9.0.0", gitCommit: "abc1234",
};

describe("figuresOf and compare", () => {
  const runs = [
    run("direct", 0, load(1, 100, 100)), // warm-up: never counted
    run("direct", 1, load(9000, 0.4, 2.0)),
    run("gateway", 1, load(6000, 0.6, 2.5), CONCURRENCY, 32),
    run("direct", 2, load(10000, 0.5, 3.0)),
    run("gateway", 2, load(7000, 0.8, 3.4), CONCURRENCY, 36),
  ];

  it("reports the median of the measured rounds and sums their counts, leaving the warm-up out", () => {
    const direct = figuresOf(runs.filter((r) => r.target === "direct"));
    expect(direct.requestsPerSecond).toBe(9500);
    expect(direct.p50).toBeCloseTo(0.45, 10);
    expect(direct.p99).toBeCloseTo(2.5, 10);
    expect(direct.responses).toBe(45000 + 50000);
    expect(direct.statuses).toEqual({ 200: 95000 });
  });

  it("gives the throughput ratio, the added p50 / p99 and the gateway's CPU per request", () => {
    const c = compare("read-hot", CONCURRENCY, "64 conns", { direct: "200", gateway: "200" }, runs, 50);
    expect(c.throughputRatio).toBeCloseTo(6500 / 9500, 10);
    expect(c.addedP50Ms).toBeCloseTo(0.7 - 0.45, 10);
    expect(c.addedP99Ms).toBeCloseTo(2.95 - 2.5, 10);
    expect(c.gatewayCpuUsPerRequest).toBe(34);
    expect(c.gatewayPeakRssMiB).toBe(100);
    expect(c.saturated).toBe(false);
  });

  it("judges the budget on fixed-rate runs, where latency is not queueing", () => {
    const rateRuns = runs.map((r) => ({ ...r, mode: RATE, modeLabel: "2000 req/s" }));
    expect(compare("read-hot", RATE, "2000 req/s", { direct: "200", gateway: "200" }, rateRuns, 0.4).overBudget).toBe(true);
    expect(compare("read-hot", RATE, "2000 req/s", { direct: "200", gateway: "200" }, rateRuns, 0.5).overBudget).toBe(false);
    const capacity = compare("read-hot", CONCURRENCY, "64 conns", { direct: "200", gateway: "200" }, runs, 0.4);
    expect(capacity.budgetApplies).toBe(false);
    expect(capacity.overBudget).toBe(false);
  });

  it("marks a fixed-rate comparison saturated when a side reached under 95% of the rate", () => {
    const rateRuns = [
      run("direct", 1, load(2000, 0.4, 2, { rateAchieved: 1 }), RATE),
      run("gateway", 1, load(1800, 0.9, 30, { rateAchieved: 0.9 }), RATE),
      run("direct", 2, load(2000, 0.4, 2, { rateAchieved: 0.99 }), RATE),
      run("gateway", 2, load(2000, 0.9, 3, { rateAchieved: 1 }), RATE),
    ];
    const c = compare("read-hot", RATE, "2000 req/s", { direct: "200", gateway: "200" }, rateRuns, 50);
    expect(c.saturated).toBe(true);
    expect(c.gateway.rateAchieved).toBe(0.9);
  });

  it("marks a fixed-rate comparison saturated when over 5% of the sends left behind an outstanding answer", () => {
    const late = (result: LoadResult, lateSends: number) => ({ ...result, rateAchieved: 0.99, lateSends });
    const rateRuns = [
      run("direct", 1, late(load(2000, 0.4, 2), 0), RATE), run("gateway", 1, late(load(2000, 20, 60), 3000), RATE),
      run("direct", 2, late(load(2000, 0.4, 2), 0), RATE), run("gateway", 2, late(load(2000, 0.9, 3), 10), RATE),
    ];
    const c = compare("read-cold", RATE, "2000 req/s", { direct: "200", gateway: "200" }, rateRuns, 50);
    expect(c.gateway.lateShare).toBeCloseTo(0.3, 10);
    expect(c.saturated).toBe(true);
  });
});

describe("disturbed rounds", () => {
  const withOther = (record: RunRecord, otherCpuCores: number): RunRecord => ({ ...record, otherCpuCores });
  const rounds = (disturbedRound: number | undefined, count: number) =>
    Array.from({ length: count }, (_, i) => i + 1).flatMap((round) => [
      withOther(run("direct", round, load(9000 + round, 0.4, 2)), round === disturbedRound ? 0.9 : 0.05),
      run("gateway", round, load(6000 + round, 0.6, round === disturbedRound ? 80 : 3)),
    ]);

  it("leaves a round disturbed by other load out of the medians when two clean rounds remain", () => {
    const c = compare("read-hot", CONCURRENCY, "64 conns", { direct: "200", gateway: "200" }, rounds(2, 3), 50);
    expect(c.roundsUsed).toEqual([1, 3]);
    expect(c.disturbed).toBe(false);
    expect(c.gateway.p99).toBe(3);
    expect(c.overBudget).toBe(false);
  });

  it("uses every round and says the figures are disturbed when fewer than two are clean", () => {
    const c = compare("read-hot", CONCURRENCY, "64 conns", { direct: "200", gateway: "200" }, rounds(2, 2), 50);
    expect(c.roundsUsed).toEqual([1, 2]);
    expect(c.disturbed).toBe(true);
    expect(c.gateway.p99).toBe(41.5);
  });
});

describe("number formatting", () => {
  it("shows milliseconds with the precision the value deserves", () => {
    expect(formatMs(0.41234)).toBe("0.412");
    expect(formatMs(3.4123)).toBe("3.41");
    expect(formatMs(27.34)).toBe("27.3");
    expect(formatMs(1204.4)).toBe("1204");
    expect(formatMs(Number.NaN)).toBe("–");
  });

  it("signs differences and groups thousands", () => {
    expect(formatDeltaMs(0.25)).toBe("+0.250");
    expect(formatDeltaMs(-1.2)).toBe("−1.20");
    expect(formatCount(1234567.4)).toBe("1,234,567");
  });

  it("chooses round axis steps that cover the tallest bar", () => {
    expect(niceAxis(21.3)).toEqual({ max: 25, step: 5 });
    expect(niceAxis(0.73)).toEqual({ max: 0.8, step: 0.2 });
    expect(niceAxis(100)).toEqual({ max: 100, step: 20 });
    expect(niceAxis(0)).toEqual({ max: 0.2, step: 0.2 });
  });
});

describe("rendering", () => {
  const runs = [
    run("direct", 1, load(9000, 0.4, 2.0)), run("gateway", 1, load(6000, 0.6, 2.5)),
    run("direct", 2, load(10000, 0.5, 3.0)), run("gateway", 2, load(7000, 0.8, 3.4)),
  ];
  const report: BenchReport = {
    schema: 1,
    startedAt: "2026-11-24T10:00:00.000Z",
    finishedAt: "2026-11-24T10:03:00.000Z",
    machine,
    settings: { quick: false, durationS: 5, rounds: 2, warmupS: 2, connections: 64, rate: 2000, gatewayLogLevel: "warn", users: 100, tokenBytes: 465, budgetMs: 50, enforceBudget: true },
    services: {},
    comparisons: [compare("read-hot", CONCURRENCY, "64 conns", { direct: "200", gateway: "200" }, runs, 50)],
    runs,
    failures: [],
    passed: true,
  };

  it("prints the machine with the figures and one row per target in the Markdown summary", () => {
    const markdown = renderMarkdown(report);
    expect(markdown).toContain("Test CPU <model> @ 2600 MHz, 2 cores");
    expect(markdown).toContain("all run on these 2 cores");
    expect(markdown).toContain("| read-hot | 64 conns | direct | 9,500 | 0.450 |");
    expect(markdown).toContain("| read-hot | 64 conns | gateway | 6,500 | 0.700 |");
    expect(markdown).toMatch(/\| read-hot \| 64 conns \| 0\.68 \| \+0\.250 \| \+0\.450 \| 30 \| 99\.0% \| .* \| – \(capacity\) \|/);
    expect(markdown).toContain("**Verdict:** pass.");
  });

  it("warns when something outside the measured processes competed for the CPU", () => {
    expect(renderMarkdown(report)).not.toContain("competing for the CPU");
    const busy = { ...runs[1]!, otherCpuCores: 0.8 };
    expect(renderMarkdown({ ...report, runs: [runs[0]!, busy, runs[2]!, runs[3]!] })).toContain("During 1 of 4 runs the machine spent more than 0.3 cores outside the measured processes (up to 0.80)");
  });

  it("lists the failures and a FAIL verdict when a run went wrong", () => {
    const markdown = renderMarkdown({ ...report, failures: ["read-hot 64 conns gateway round 1: 3 unexpected statuses (list 500 ×3)"], passed: false });
    expect(markdown).toContain("## Failures");
    expect(markdown).toContain("- read-hot 64 conns gateway round 1: 3 unexpected statuses");
    expect(markdown).toContain("**Verdict:** FAIL.");
  });

  it("draws a self-contained SVG with both sides of every percentile and escaped text", () => {
    const svg = renderSvg(report);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).not.toMatch(/<script|href=|@import|url\(/);
    expect(svg).toContain("Test CPU &lt;model&gt;");
    expect(svg).not.toContain("<model>");
    for (const label of ["direct p50: 0.450 ms", "gateway p50: 0.700 ms", "direct p99: 2.50 ms", "gateway p99: 2.95 ms"]) {
      expect(svg).toContain(label);
    }
    expect(svg.match(/<rect /g)!.length).toBeGreaterThanOrEqual(6 + 1);
  });

  const scenarioRuns = (scenario: RunRecord["scenario"], added: number, mode: LoadMode = RATE) =>
    [1, 2].flatMap((round) => [
      { ...run("direct", round, load(2000, 0.4, 2, { rateAchieved: 1 }), mode), scenario },
      { ...run("gateway", round, load(2000, 0.6, 2 + added, { rateAchieved: 1 }), mode), scenario },
    ]);
  const full = (added: Record<string, number>, failures: string[] = []): BenchReport => {
    const comparisons = Object.entries(added).flatMap(([scenario, ms]) => [
      compare(scenario as RunRecord["scenario"], CONCURRENCY, "64 conns", { direct: "200", gateway: "200" }, scenarioRuns(scenario as RunRecord["scenario"], ms, CONCURRENCY).map((r) => ({ ...r, modeLabel: "64 conns" })), 50),
      compare(scenario as RunRecord["scenario"], RATE, "2000 req/s", { direct: "200", gateway: "200" }, scenarioRuns(scenario as RunRecord["scenario"], ms).map((r) => ({ ...r, modeLabel: "2000 req/s" })), 50),
    ]);
    return { ...report, comparisons, failures, passed: failures.length === 0 };
  };

  it("sums a run up in one line per scenario, the verdict and the report's path", () => {
    const summary = renderSummary(full({ "read-hot": 1.3, "read-cold": 16, "crud-mix": 12, "reject-flood": -2 }), "bench/results/2026-11-24T10-00-00Z.md");
    expect(summary).toHaveLength(4 + 2);
    expect(summary[0]).toMatch(/^read-hot {6}ok {4}added p99 \+1\.30 ms at 2000 req\/s \(budget 50 ms\) · throughput ×1\.00 at 64 conns · gateway 30 µs CPU\/req$/);
    expect(summary[3]).toContain("reject-flood  ok    added p99 −2.00 ms");
    expect(summary[4]).toBe("verdict: pass");
    expect(summary[5]).toMatch(/^report: bench\/results\/2026-11-24T10-00-00Z\.md \(beside it: /);
  });

  it("names the failing scenario, says FAIL and lists the first problems only", () => {
    const failures = Array.from({ length: 7 }, (_, i) => `read-cold 2000 req/s gateway round 1: problem ${i + 1}`);
    const summary = renderSummary(full({ "read-hot": 1, "read-cold": 70 }, failures), "r.md");
    expect(summary[0]).toMatch(/^read-hot {3}ok /);
    expect(summary[1]).toMatch(/^read-cold {2}FAIL {2}added p99 \+70\.0 ms at 2000 req\/s \(budget 50 ms OVER\)/);
    expect(summary[2]).toBe("verdict: FAIL, 7 problem(s):");
    expect(summary.filter((line) => line.startsWith("  - "))).toHaveLength(5);
    expect(summary).toContain("  … and 2 more, in the report");
  });

  it("adds one panel of added p99 for every scenario on one scale, with the budget line on it", () => {
    const svg = renderSvg(full({ "read-hot": 1.3, "read-cold": 16, "reject-flood": -2 }));
    const bars = [...svg.matchAll(/<rect class="added-p99" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/g)].map((m) => ({ y: Number(m[1]), h: Number(m[2]) }));
    expect(bars).toHaveLength(3);
    // One scale: bar heights are in the ratio of the values (1.3 : 16 : 2).
    expect(bars[1]!.h / bars[0]!.h).toBeCloseTo(16 / 1.3, 0);
    expect(bars[2]!.h / bars[0]!.h).toBeCloseTo(2 / 1.3, 0);
    // The budget line is drawn, above every bar here, and named.
    const budget = /<line class="budget" x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)"/.exec(svg);
    expect(budget).not.toBeNull();
    expect(Number(budget![1])).toBeLessThan(Math.min(...bars.map((bar) => bar.y)));
    expect(svg).toContain("budget 50 ms");
    expect(svg).toContain("read-cold: added p99 +16.0 ms at 2000 req/s");
  });

  it("draws the panels of one load mode on one shared scale", () => {
    const svg = renderSvg(full({ "read-hot": 1, "read-cold": 40 }));
    expect(svg).toContain("Panels of one load mode share one scale.");
    // The same tick labels in both fixed-rate panels: the scale of the tallest bar, 42 ms.
    const ticks = (scenario: string) => {
      const start = svg.indexOf(`${scenario} · 2000 req/s`);
      const panel = svg.slice(start, svg.indexOf("</g>", start));
      return [...panel.matchAll(/text-anchor="end" fill="#666" font-size="11">([\d.]+)</g)].map((m) => m[1]);
    };
    expect(ticks("read-hot")).toEqual(ticks("read-cold"));
    expect(ticks("read-hot").at(-1)).toBe("50");
  });
});
