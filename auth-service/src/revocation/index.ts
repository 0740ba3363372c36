/**
 * Sign-out that reaches every gateway (docs/revocation.md), the auth-service side, wired once:
 * the Better Auth plugin records each ending as a signed row in the outbox; the feed serves the
 * rows over HTTP; the relay (with `REDIS_URL`) copies them to the Redis stream; a maintenance
 * tick retries writes the database refused and deletes expired rows.
 */
import { AsyncResource } from "node:async_hooks";
import type { AuthContext } from "better-auth";
import type { AuthServiceConfig } from "@todo-gateway/config";
import type { KeyRing } from "../keyring.ts";
import type { Logger } from "../log.ts";
import { RevocationFeed } from "./feed.ts";
import type { RevocationHook } from "./hook.ts";
import { Outbox } from "./outbox.ts";
import { revocationEvents } from "./plugin.ts";
import { RevocationRecorder, type RecordedRevocation } from "./recorder.ts";
import { RedisRelay } from "./relay.ts";
import { firstLine, LogThrottle } from "./throttle.ts";

export { FEED_MAX_WAIT_S, FEED_MAX_WAITERS, FEED_RECHECK_MS, feedVersion, RevocationFeed } from "./feed.ts";
export { loggingRevocationHook, type RevocationHook } from "./hook.ts";
export { MAX_OUTBOX_READ, Outbox, REVOCATION_EVENT_MODEL, type OutboxEvent, type OutboxRow } from "./outbox.ts";
export { MAX_PENDING_EVENTS, RevocationRecorder, type RecordedRevocation } from "./recorder.ts";
export { describeRedisUrl, RedisRelay, RELAY_LIMITS } from "./relay.ts";

/** Expired rows deleted per sweep, in batches: bounded work each time. */
export const SWEEP_LIMITS = Object.freeze({ everyMs: 10_000, batch: 1_000, batchesPerSweep: 10 });
const TICK_MS = 1_000;

export interface RevocationsOptions {
  readonly config: AuthServiceConfig;
  readonly keyring: KeyRing;
  readonly log: Logger;
  /** ms since the epoch (the same clock as the keyring's). */
  readonly now: () => number;
  readonly onRevocation: RevocationHook;
  /** How often the feed re-reads the outbox while anyone waits (tests shorten it). */
  readonly feedRecheckMs?: number;
  readonly feedMaxWaiters?: number;
}

export class Revocations {
  readonly outbox: Outbox;
  readonly recorder: RevocationRecorder;
  readonly feed: RevocationFeed;
  /** `undefined` without `REDIS_URL`. */
  readonly relay: RedisRelay | undefined;
  /** Goes into `betterAuth({ plugins })`. */
  readonly plugin: ReturnType<typeof revocationEvents>;
  private context: AuthContext | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private lastSweep = Number.NEGATIVE_INFINITY;
  private readonly sweepProblems = new LogThrottle(60_000);
  private readonly wake: () => void;

  constructor(private readonly options: RevocationsOptions) {
    const { config, keyring, log, now } = options;
    const context = () => {
      if (this.context === undefined) throw new Error("Better Auth has not initialised the revocation plugin yet");
      return this.context;
    };
    this.outbox = new Outbox(context);
    this.feed = new RevocationFeed({ outbox: this.outbox, now, log, recheckMs: options.feedRecheckMs, maxWaiters: options.feedMaxWaiters });
    this.relay = config.redisUrl === undefined ? undefined : new RedisRelay({ url: config.redisUrl, outbox: this.outbox, now, log });
    this.recorder = new RevocationRecorder({
      issuer: config.jwt.issuer,
      tokenLifetimeS: config.jwt.lifetimeS,
      signingKey: () => keyring.signingKey({ context: context() }),
      outbox: this.outbox,
      now,
      log,
      onRecorded: (event) => this.recorded(event),
    });
    this.plugin = revocationEvents({ recorder: this.recorder, onInit: (ctx) => (this.context = ctx) });
    // The feed's read and the relay's work must not run inside the request that wrote the event:
    // it would carry that request's Better Auth adapter (and its transaction, if any) and log
    // lines. Bound here, they run in the context the service was built in.
    this.wake = AsyncResource.bind(() => {
      this.feed.notify();
      this.relay?.kick();
    });
  }

  /** Starts the relay and the maintenance tick (after the schema exists). */
  start(): void {
    if (this.timer !== undefined) return;
    this.relay?.start();
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Deletes expired rows, at most {@link SWEEP_LIMITS} per call; returns how many. */
  async sweep(): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < SWEEP_LIMITS.batchesPerSweep; i++) {
      const batch = await this.outbox.deleteExpired(this.options.now(), SWEEP_LIMITS.batch);
      deleted += batch;
      if (batch < SWEEP_LIMITS.batch) break;
    }
    return deleted;
  }

  /** Answers the feed's waiters, stops the tick and the relay. The database stays open. */
  async close(): Promise<void> {
    this.feed.close();
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.ticking;
    await this.relay?.close();
  }

  /** Retries the writes the database refused, and sweeps now and then. One at a time. */
  private tick(): Promise<void> {
    this.ticking ??= (async () => {
      if (this.recorder.pendingCount > 0) await this.recorder.retryPending();
      const now = this.options.now();
      if (now - this.lastSweep >= SWEEP_LIMITS.everyMs || now < this.lastSweep) {
        this.lastSweep = now;
        try {
          await this.sweep();
        } catch (error) {
          const line = this.sweepProblems.take();
          if (line !== undefined) this.options.log.warn({ error: firstLine(error), suppressed: line.suppressed }, "revocation outbox: cannot delete expired events; retrying");
        }
      }
    })().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private recorded(event: RecordedRevocation): void {
    this.wake();
    Promise.resolve()
      .then(() => this.options.onRevocation(event))
      .catch((error: unknown) => this.options.log.error({ jti: event.jti, err: error }, "revocation hook failed"));
  }
}
