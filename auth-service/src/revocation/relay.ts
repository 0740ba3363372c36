/**
 * The Redis relay (docs/revocation.md §3): copies outbox rows to the stream
 * `todo-gateway:revocations` as `XADD <key> MINID ~ <T> * token <JWS>` (T: see trimBoundary), right after a row is
 * written and every second for rows not yet relayed, and adds every unexpired row again when
 * Redis (re)connects or has lost the stream, since Redis may have lost its data.
 *
 * Redis is never on a user's path: a request only kicks the relay and never waits for it, the
 * client fails commands at once while disconnected (no offline queue), every command has a
 * timeout, and while Redis is away the rows simply wait in the outbox.
 */
import { Redis } from "ioredis";
import { REVOCATION_RETENTION_MARGIN_S, REVOCATION_STREAM_KEY } from "@todo-gateway/config";
import type { Logger } from "../log.ts";
import { MAX_OUTBOX_READ, type Outbox, type OutboxEvent } from "./outbox.ts";
import { firstLine, LogThrottle } from "./throttle.ts";

/** Timeouts and bounds of the Redis connection. */
export const RELAY_LIMITS = Object.freeze({
  connectTimeoutMs: 2_000,
  commandTimeoutMs: 2_000,
  /** Rows relayed each second (in batches of {@link RELAY_LIMITS.batch}) before yielding. */
  perTick: 5_000,
  batch: 500,
  tickMs: 1_000,
  /** Reconnect backoff: 100 ms doubling to 5 s. */
  reconnectMinMs: 100,
  reconnectMaxMs: 5_000,
  warnEveryMs: 30_000,
});

export interface RedisRelayOptions {
  readonly url: string;
  readonly outbox: Outbox;
  /** ms since the epoch. */
  readonly now: () => number;
  readonly log: Logger;
  readonly streamKey?: string;
  readonly tickMs?: number;
}

/** `redis://host:port/db` without user or password, for logs. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    return "redis://…";
  }
}

export class RedisRelay {
  readonly redis: Redis;
  readonly where: string;
  private readonly streamKey: string;
  private readonly unavailable = new LogThrottle(RELAY_LIMITS.warnEveryMs);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private republishDue = true;
  private closed = false;
  private wasDown = false;

  constructor(private readonly options: RedisRelayOptions) {
    this.streamKey = options.streamKey ?? REVOCATION_STREAM_KEY;
    this.where = describeRedisUrl(options.url);
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      connectTimeout: RELAY_LIMITS.connectTimeoutMs,
      commandTimeout: RELAY_LIMITS.commandTimeoutMs,
      // Fail at once while disconnected: the outbox is the queue, not this process's memory.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(RELAY_LIMITS.reconnectMinMs * 2 ** Math.min(attempt - 1, 10), RELAY_LIMITS.reconnectMaxMs),
    });
    // Without a listener a connection error would be an unhandled 'error' event.
    this.redis.on("error", (error: unknown) => this.down(error));
    this.redis.on("ready", () => {
      // Redis may have restarted empty: everything unexpired goes in again.
      this.republishDue = true;
      if (this.wasDown) this.options.log.info({ redis: this.where }, "revocation relay: Redis is back; relaying the outbox again");
      this.wasDown = false;
      this.unavailable.reset();
      this.kick();
    });
  }

  /** Connects (in the background, retrying with backoff) and relays every second. */
  start(): void {
    if (this.closed || this.timer !== undefined) return;
    this.redis.connect().catch((error: unknown) => this.down(error));
    this.timer = setInterval(() => this.kick(), this.options.tickMs ?? RELAY_LIMITS.tickMs);
    this.timer.unref();
  }

  /** Relays what is pending, soon; never waits and never throws. */
  kick(): void {
    if (this.closed) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves once the relay has nothing in flight (tests; shutdown). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.idle();
    if (this.redis.status === "end") return;
    const ended = new Promise<void>((resolve) => {
      this.redis.once("end", () => resolve());
      setTimeout(resolve, RELAY_LIMITS.commandTimeoutMs).unref();
    });
    try {
      if (this.redis.status === "ready") await this.redis.quit();
    } catch {
      // Quitting is a courtesy; disconnect below closes the socket regardless.
    }
    this.redis.disconnect();
    await ended;
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      if (this.redis.status !== "ready") return;
      try {
        await this.relay();
      } catch (error) {
        this.down(error);
        return;
      }
    } while (this.again && !this.closed);
  }

  private async relay(): Promise<void> {
    const now = this.options.now();
    if (!this.republishDue && (await this.streamLost(now))) this.republishDue = true;
    if (this.republishDue) {
      const { events, truncated } = await this.options.outbox.unexpired(now, MAX_OUTBOX_READ);
      if (truncated) this.options.log.error({ relayed: events.length }, "revocation relay: too many unexpired events; republished the newest only");
      await this.add(events, now);
      this.republishDue = false;
      if (events.length > 0) this.options.log.info({ redis: this.where, events: events.length }, "revocation relay: republished every unexpired event");
      return;
    }
    for (let done = 0; done < RELAY_LIMITS.perTick && !this.closed; ) {
      const batch = await this.options.outbox.unrelayed(now, RELAY_LIMITS.batch);
      await this.add(batch, now);
      done += batch.length;
      if (batch.length < RELAY_LIMITS.batch) return;
    }
  }

  /**
   * Whether Redis lost entries it had (FLUSHALL, a restart on the same connection, eviction):
   * the stream holds at least one entry per unexpired relayed row unless something removed them,
   * since trimming only ever removes entries older than every unexpired event.
   */
  private async streamLost(now: number): Promise<boolean> {
    const relayed = await this.options.outbox.countRelayed(now);
    if (relayed === 0) return false;
    return (await this.redis.xlen(this.streamKey)) < relayed;
  }

  /** XADDs `events` in order (one round trip per batch), then marks them relayed. */
  private async add(events: readonly OutboxEvent[], now: number): Promise<void> {
    if (events.length === 0) return;
    const minId = await this.trimBoundary(now);
    for (let start = 0; start < events.length; start += RELAY_LIMITS.batch) {
      const batch = events.slice(start, start + RELAY_LIMITS.batch);
      const pipeline = this.redis.pipeline();
      for (const event of batch) pipeline.xadd(this.streamKey, "MINID", "~", String(minId), "*", "token", event.token);
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([error]) => error !== null);
      if (failed !== undefined || results.length !== batch.length) throw failed?.[0] ?? new Error("Redis answered a partial pipeline");
      await this.options.outbox.markRelayed(batch.map((event) => event.id));
    }
  }

  /**
   * The `MINID` for XADD. A stream id is Redis's clock when the entry was added, an event's
   * `createdAt` the service's clock: the two may disagree, so the boundary is the oldest
   * unexpired event's AGE (one clock) taken back from Redis's own time (the other), less the
   * retention margin for replicas whose clocks differ. Every entry added before it carries an
   * event written before the oldest unexpired one, which has therefore expired; a service clock
   * that runs ahead of Redis's can never trim what it just added.
   */
  private async trimBoundary(now: number): Promise<number> {
    const oldest = (await this.options.outbox.oldestUnexpired(now))?.getTime() ?? now;
    const age = Math.max(0, now - oldest);
    const [seconds = 0, micros = 0] = (await this.redis.time()).map(Number);
    return Math.max(0, seconds * 1000 + Math.floor(micros / 1000) - age - REVOCATION_RETENTION_MARGIN_S * 1000);
  }

  private down(error: unknown): void {
    if (this.closed) return;
    this.wasDown = true;
    const line = this.unavailable.take();
    if (line === undefined) return;
    this.options.log.warn(
      { redis: this.where, error: firstLine(error), suppressed: line.suppressed },
      "revocation relay: Redis unavailable; events stay in the outbox and are relayed when it returns",
    );
  }
}
