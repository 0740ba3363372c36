/**
 * Sign-out that reaches every gateway (docs/revocation.md), the auth-service side, wired once:
 * the Better Auth plugin records each ending as a signed row in the outbox; the feed serves the
 * rows over HTTP; a maintenance tick retries writes the database refused and deletes expired rows.
 */
import type { AuthContext } from "better-auth";
import type { AuthServiceConfig } from "@todo-gateway/config";
import type { KeyRing } from "../keyring.ts";
import type { Logger } from "../log.ts";
import { RevocationFeed } from "./feed.ts";
import type { RevocationHook } from "./hook.ts";
import { Outbox } from "./outbox.ts";
import { revocationEvents } from "./plugin.ts";
import { RevocationRecorder, type RecordedRevocation } from "./recorder.ts";
import { firstLine, LogThrottle } from "./throttle.ts";

export { FEED_MAX_WAIT_S, FEED_MAX_WAITERS, FEED_RECHECK_MS, feedVersion, RevocationFeed } from "./feed.ts";
export { loggingRevocationHook, type RevocationHook } from "./hook.ts";
export { MAX_OUTBOX_READ, Outbox, REVOCATION_EVENT_MODEL, type OutboxEvent, type OutboxRow } from "./outbox.ts";
export { MAX_PENDING_EVENTS, RevocationRecorder, type RecordedRevocation } from "./recorder.ts";

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
  /** Goes into `betterAuth({ plugins })`. */
  readonly plugin: ReturnType<typeof revocationEvents>;
  private context: AuthContext | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private lastSweep = Number.NEGATIVE_INFINITY;
  private readonly sweepProblems = new LogThrottle(60_000);

  constructor(private readonly options: RevocationsOptions) {
    const { config, keyring, log, now } = options;
    const context = () => {
      if (this.context === undefined) throw new Error("Better Auth has not initialised the revocation plugin yet");
      return this.context;
    };
    this.outbox = new Outbox(context);
    this.feed = new RevocationFeed({ outbox: this.outbox, now, log, recheckMs: options.feedRecheckMs, maxWaiters: options.feedMaxWaiters });
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
  }

  /** Starts the maintenance tick (after the schema exists). */
  start(): void {
    if (this.timer !== undefined) return;
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

  /** Answers the feed's waiters and stops the tick. The database stays open. */
  async close(): Promise<void> {
    this.feed.close();
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.ticking;
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
    this.feed.notify();
    Promise.resolve()
      .then(() => this.options.onRevocation(event))
      .catch((error: unknown) => this.options.log.error({ jti: event.jti, err: error }, "revocation hook failed"));
  }
}
