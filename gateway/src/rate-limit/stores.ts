import { Redis } from "ioredis";

/** A window's count after this request was counted. */
export type WindowCount = number;

export interface RateLimitStore {
  /** Adds one to `key` (a window that ends within `windowMs`) and returns the new count. */
  hit(key: string, windowMs: number): Promise<WindowCount>;
  /** True while counts are shared (Redis reachable); false while they are this process's only. */
  readonly shared: boolean;
  close(): Promise<void>;
}

/** Windows held at most in memory; past it the oldest go first (their counts restart). */
const MAX_MEMORY_WINDOWS = 200_000;

/** Counting in this process: a map of windows, each forgotten once it has ended. */
export class MemoryStore implements RateLimitStore {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();
  private readonly timer: NodeJS.Timeout;
  readonly shared = false;

  constructor(private readonly now: () => number = Date.now) {
    this.timer = setInterval(() => this.prune(), 1_000);
    this.timer.unref();
  }

  async hit(key: string, windowMs: number): Promise<WindowCount> {
    return this.hitNow(key, windowMs);
  }

  hitNow(key: string, windowMs: number): WindowCount {
    const window = this.windows.get(key);
    if (window !== undefined) return (window.count += 1);
    if (this.windows.size >= MAX_MEMORY_WINDOWS) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(key, { count: 1, endsAt: this.now() + windowMs });
    return 1;
  }

  private prune(): void {
    const now = this.now();
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}

/**
 * Counting in Redis (`REDIS_URL`), shared by every worker and instance: INCR and PEXPIRE in one
 * round trip per limit. A request never waits long on it: commands time out after
 * {@link COMMAND_TIMEOUT_MS}, there is no offline queue, and while Redis is away (or answers
 * too slowly) the count falls back to this process's memory, so limits still hold per process.
 * After a failed command Redis is left alone for {@link RETRY_AFTER_FAILURE_MS}: a Redis that
 * hangs with its connection open would otherwise cost every request the whole timeout (and
 * leave one more unanswered command queued on the connection per request).
 */
const COMMAND_TIMEOUT_MS = 250;
const RETRY_AFTER_FAILURE_MS = 1_000;
const KEY_PREFIX = "todo-gateway:rl:";

export class RedisStore implements RateLimitStore {
  private readonly redis: Redis;
  private readonly fallback: MemoryStore;
  private ready = false;
  private closed = false;
  /** When the last command failed, until one succeeds (or the connection is new). */
  private failedAt: number | undefined;

  constructor(url: string, private readonly onFallback: (error: unknown) => void = () => undefined, private readonly now: () => number = Date.now) {
    this.fallback = new MemoryStore(now);
    this.redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 2_000,
      commandTimeout: COMMAND_TIMEOUT_MS,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => (this.closed ? null : Math.min(100 * 2 ** Math.min(attempt - 1, 6), 5_000)),
    });
    this.redis.on("error", (error) => this.onFallback(error));
    this.redis.on("ready", () => {
      this.ready = true;
      this.failedAt = undefined;
    });
    this.redis.on("close", () => (this.ready = false));
    this.redis.connect().catch(() => undefined);
  }

  /** Connected, and the last command (if any since) was answered: a hung Redis is not shared. */
  get shared(): boolean {
    return this.ready && this.failedAt === undefined;
  }

  async hit(key: string, windowMs: number): Promise<WindowCount> {
    if (!this.ready || (this.failedAt !== undefined && this.now() - this.failedAt < RETRY_AFTER_FAILURE_MS)) return this.fallback.hitNow(key, windowMs);
    try {
      const results = await this.redis.multi().incr(KEY_PREFIX + key).pexpire(KEY_PREFIX + key, windowMs + 1_000).exec();
      const count = results?.[0]?.[1];
      if (typeof count === "number") {
        this.failedAt = undefined;
        return count;
      }
      throw new Error("Redis answered no count");
    } catch (error) {
      this.failedAt = this.now();
      this.onFallback(error);
      return this.fallback.hitNow(key, windowMs);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.redis.disconnect();
    await this.fallback.close();
  }
}
