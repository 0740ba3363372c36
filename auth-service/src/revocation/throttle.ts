/**
 * At most one line per interval for a condition that can repeat every second (Redis away, the
 * database away): the first occurrence is logged at once, the rest are counted and the count
 * rides on the next line.
 */
export class LogThrottle {
  private last = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(private readonly intervalMs: number, private readonly now: () => number = Date.now) {}

  /** `undefined`: stay quiet; otherwise log now, mentioning how many were held back. */
  take(): { suppressed: number } | undefined {
    const now = this.now();
    if (now - this.last < this.intervalMs) {
      this.suppressed += 1;
      return undefined;
    }
    this.last = now;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    return { suppressed };
  }

  /** The condition is over: the next occurrence is logged at once. */
  reset(): void {
    this.last = Number.NEGATIVE_INFINITY;
    this.suppressed = 0;
  }
}

/** An error's first line, for a one-line warning (never a stack). */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]!.trim() || (error instanceof Error ? error.name : "error");
}
