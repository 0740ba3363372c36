/**
 * Load shedding on event-loop lag (what @fastify/under-pressure's `maxEventLoopDelay` does,
 * without the plugin's per-request hook): a timer that should fire every
 * {@link SAMPLE_INTERVAL_MS} measures how late it is. While the last sample was later than the
 * threshold, new requests are answered 503 at once, so the work already accepted finishes
 * instead of every request getting slow.
 */
const SAMPLE_INTERVAL_MS = 100;

export class EventLoopMonitor {
  private lagMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  /** `thresholdMs` 0 turns shedding off (the lag is still measured). */
  constructor(private readonly thresholdMs: number) {}

  start(): void {
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.lagMs = Math.max(0, now - this.last - SAMPLE_INTERVAL_MS);
      this.last = now;
    }, SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** How late the last sample fired, in ms. */
  get lastLagMs(): number {
    return this.lagMs;
  }

  /** True while new requests should be shed. */
  get overloaded(): boolean {
    return this.thresholdMs > 0 && this.lagMs > this.thresholdMs;
  }
}
