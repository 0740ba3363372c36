/**
 * The arithmetic behind every figure: exact percentiles over all recorded latencies (no
 * histogram buckets, so sub-millisecond differences survive), and medians across rounds.
 */

/** A growable array of latencies in milliseconds; one per response. */
export class Samples {
  private values: Float64Array;
  private length = 0;

  constructor(initialCapacity = 16_384) {
    this.values = new Float64Array(Math.max(16, initialCapacity));
  }

  get count(): number {
    return this.length;
  }

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  /** A sorted copy of what was recorded. */
  sorted(): Float64Array {
    return this.values.slice(0, this.length).sort();
  }
}

/**
 * Nearest-rank percentile (the smallest value with at least `p` % of the values at or below
 * it) of values sorted ascending; `NaN` when there are none.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sorted[rank - 1]!;
}

/** The median of a list (the mean of the middle two for an even count); `NaN` when empty. */
export function median(values: readonly number[]): number {
  const finite = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const n = finite.length;
  if (n === 0) return Number.NaN;
  const mid = Math.floor(n / 2);
  return n % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

/** Latency figures of one run, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export function summarizeLatencies(sorted: ArrayLike<number>): LatencySummary {
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i]!;
  return {
    count: sorted.length,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
  };
}

/** Field-by-field median of several summaries of the same kind. */
export function medianOf<T extends Record<string, number | null>>(items: readonly T[]): { [K in keyof T]: number } {
  const keys = Object.keys(items[0] ?? {}) as (keyof T)[];
  const out = {} as { [K in keyof T]: number };
  for (const key of keys) {
    out[key] = median(items.map((item) => (item[key] === null ? Number.NaN : (item[key] as number))));
  }
  return out;
}

/**
 * A small deterministic generator (mulberry32), so a scenario sends the same sequence of
 * requests to the direct API and to the gateway.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Cumulative weights of a Zipf distribution over `n` ranks (rank 1 the most frequent), for
 * {@link pickWeighted}: a few heavy users and a long tail, as real traffic has.
 */
export function zipfCumulative(n: number, exponent = 1): Float64Array {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let rank = 1; rank <= n; rank++) {
    total += 1 / rank ** exponent;
    cumulative[rank - 1] = total;
  }
  for (let i = 0; i < n; i++) cumulative[i]! /= total;
  return cumulative;
}

/** The index whose cumulative weight first reaches `u` (a number in [0, 1)). */
export function pickWeighted(cumulative: Float64Array, u: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
