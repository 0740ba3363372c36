import { describe, expect, it } from "vitest";
import { median, medianOf, percentile, pickWeighted, Samples, seededRandom, summarizeLatencies, zipfCumulative } from "../src/stats.ts";

describe("percentile", () => {
  const hundred = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1..100

  it("takes the nearest rank: p50 of 1..100 is 50, p99 is 99, p100 is the maximum", () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 90)).toBe(90);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
  });

  it("never interpolates: a value between two samples is never reported", () => {
    expect(percentile([0.2, 0.4], 50)).toBe(0.2);
    expect(percentile([0.2, 0.4], 51)).toBe(0.4);
  });

  it("answers the smallest value for p0 and NaN when there is nothing to rank", () => {
    expect(percentile([3, 4, 5], 0)).toBe(3);
    expect(percentile([], 50)).toBeNaN();
  });

  it("refuses a percentile outside 0..100", () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe("median", () => {
  it("takes the middle value of an odd count and the mean of the middle two of an even count", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("ignores NaN and answers NaN for an empty list", () => {
    expect(median([Number.NaN, 2, 4])).toBe(3);
    expect(median([])).toBeNaN();
  });

  it("takes the median of each field across rounds", () => {
    expect(medianOf([{ rps: 100, p99: 3 }, { rps: 300, p99: 1 }, { rps: 200, p99: 2 }])).toEqual({ rps: 200, p99: 2 });
  });
});

describe("Samples and summarizeLatencies", () => {
  it("keeps every latency exactly, past its initial capacity, and summarizes them sorted", () => {
    const samples = new Samples(16);
    const values = [0.31, 0.29, 5.5, 0.3, 0.33, ...Array.from({ length: 95 }, () => 0.3)];
    for (const v of values) samples.push(v);
    expect(samples.count).toBe(100);
    const summary = summarizeLatencies(samples.sorted());
    expect(summary.count).toBe(100);
    expect(summary.p50).toBe(0.3);
    expect(summary.p99).toBe(0.33);
    expect(summary.max).toBe(5.5);
    expect(summary.mean).toBeCloseTo(values.reduce((a, b) => a + b) / 100, 10);
  });
});

describe("seededRandom", () => {
  it("gives the same sequence for the same seed, so direct and gateway runs send the same requests", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const first = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(first);
    expect(Array.from({ length: 5 }, c)).not.toEqual(first);
    for (const v of first) expect(v >= 0 && v < 1).toBe(true);
  });
});

describe("zipfCumulative and pickWeighted", () => {
  it("makes rank 1 the busiest user and rank n the quietest, with every user reachable", () => {
    const cumulative = zipfCumulative(100);
    expect(cumulative[99]).toBeCloseTo(1, 12);
    const counts = new Array<number>(100).fill(0);
    const random = seededRandom(7);
    for (let i = 0; i < 200_000; i++) counts[pickWeighted(cumulative, random())]! += 1;
    // Zipf(1) over 100 ranks: rank 1 has 1/H(100) ≈ 19.3% of the traffic, rank 100 about 0.19%.
    expect(counts[0]! / 200_000).toBeCloseTo(0.193, 2);
    expect(counts[0]!).toBeGreaterThan(counts[1]!);
    expect(counts[99]!).toBeGreaterThan(0);
  });

  it("maps the edges of [0, 1) to the first and last index", () => {
    const cumulative = Float64Array.from([0.5, 0.75, 1]);
    expect(pickWeighted(cumulative, 0)).toBe(0);
    expect(pickWeighted(cumulative, 0.5)).toBe(1);
    expect(pickWeighted(cumulative, 0.999)).toBe(2);
  });
});
