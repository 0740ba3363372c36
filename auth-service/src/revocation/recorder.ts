/**
 * Turns "this session / this user ended" into a signed event row in the outbox, in the request
 * that made the change. The row is the source of truth: the feed serves it, the relay copies it
 * to Redis; neither can lose it. docs/revocation.md §1-2.
 */
import { randomUUID } from "node:crypto";
import type { ResolvedSigningKey } from "better-auth/plugins/jwt";
import {
  REVOCATION_EVENT_AUDIENCE, REVOCATION_RETENTION_MARGIN_S,
  type RevocationClaims, type RevocationEnvelope, type RevocationReason,
} from "@todo-gateway/config";
import type { Logger } from "../log.ts";
import type { Outbox } from "./outbox.ts";
import { signRevocationEvent } from "./sign.ts";
import { firstLine, LogThrottle } from "./throttle.ts";

/** An event as written: its envelope, its claims and the signed JWS stored in the outbox. */
export interface RecordedRevocation extends RevocationEnvelope {
  readonly claims: RevocationClaims;
  readonly token: string;
}

/**
 * Events the database refused (it went away between the change and the write) are kept in
 * memory, at most this many, and written again every second until it returns.
 */
export const MAX_PENDING_EVENTS = 10_000;

export interface RevocationRecorderOptions {
  /** `iss` of every event: the service's token issuer. */
  readonly issuer: string;
  /** `JWT_LIFETIME_S`: an event lives `lifetime + margin`. */
  readonly tokenLifetimeS: number;
  /** The key that signs tokens now (the keyring's choice, via Better Auth's `resolveSigningKey`). */
  readonly signingKey: () => Promise<ResolvedSigningKey>;
  readonly outbox: Outbox;
  /** ms since the epoch. */
  readonly now: () => number;
  readonly log: Logger;
  /** Called once per event, after its row is written (wakes the feed, kicks the relay). */
  readonly onRecorded: (event: RecordedRevocation) => void;
}

interface PendingEvent {
  readonly claims: RevocationClaims;
  readonly envelope: RevocationEnvelope;
  readonly createdAt: Date;
}

export class RevocationRecorder {
  private readonly pending: PendingEvent[] = [];
  private readonly failures = new LogThrottle(30_000);
  private retrying: Promise<void> | undefined;

  constructor(private readonly options: RevocationRecorderOptions) {}

  /** One session ended: every token with this `sid` is refused. */
  recordSession(uid: string, sid: string, reason: RevocationReason): Promise<void> {
    return this.record(() => ({ kind: "session", uid, sid, reason }));
  }

  /**
   * Everything the user held until now ended: tokens with `sub` = uid and `iat` < `before` are
   * refused, `before` being the event's own `iat` (a token issued in that same second, by a
   * session created after the change, stays good; older sessions have their own events).
   */
  recordUser(uid: string, reason: RevocationReason): Promise<void> {
    return this.record((iat) => ({ kind: "user", uid, before: iat, reason }));
  }

  /** Events not written yet (the database refused them); retried by {@link retryPending}. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Signs and writes one event. Never throws: the change it reports has already happened, and
   * failing the user's request would not undo it. If the write fails the event is kept in memory
   * and retried, so a short database outage loses nothing.
   */
  private async record(claimsAt: (iat: number) => RevocationClaims): Promise<void> {
    const createdAt = new Date(this.options.now());
    const iat = Math.floor(createdAt.getTime() / 1000);
    const claims = claimsAt(iat);
    const envelope: RevocationEnvelope = {
      iss: this.options.issuer,
      aud: REVOCATION_EVENT_AUDIENCE,
      jti: randomUUID(),
      iat,
      exp: iat + this.options.tokenLifetimeS + REVOCATION_RETENTION_MARGIN_S,
    };
    const event: PendingEvent = { claims, envelope, createdAt };
    try {
      await this.write(event);
    } catch (error) {
      this.keep(event, error);
    }
  }

  /** Writes the events the database refused earlier, oldest first; stops at the first failure. */
  retryPending(): Promise<void> {
    this.retrying ??= (async () => {
      while (this.pending.length > 0) {
        const event = this.pending[0]!;
        if (event.envelope.exp * 1000 <= this.options.now()) {
          // Expired while waiting: no token it could refuse is still valid.
          this.pending.shift();
          continue;
        }
        try {
          await this.write(event);
        } catch (error) {
          this.report(error);
          return;
        }
        this.pending.shift();
      }
      this.failures.reset();
    })().finally(() => {
      this.retrying = undefined;
    });
    return this.retrying;
  }

  private async write(event: PendingEvent): Promise<void> {
    const token = await signRevocationEvent(event.claims, event.envelope, await this.options.signingKey());
    await this.options.outbox.insert({
      id: event.envelope.jti,
      token,
      createdAt: event.createdAt,
      expiresAt: new Date(event.envelope.exp * 1000),
    });
    const recorded: RecordedRevocation = { ...event.envelope, claims: event.claims, token };
    try {
      this.options.onRecorded(recorded);
    } catch (error) {
      this.options.log.error({ err: error, jti: recorded.jti }, "revocation event listener failed");
    }
  }

  private keep(event: PendingEvent, error: unknown): void {
    if (this.pending.length >= MAX_PENDING_EVENTS) {
      const dropped = this.pending.shift()!;
      this.options.log.error({ jti: dropped.envelope.jti, kind: dropped.claims.kind, reason: dropped.claims.reason }, `revocation event dropped: more than ${MAX_PENDING_EVENTS} events are waiting for the database`);
    }
    this.pending.push(event);
    this.report(error);
  }

  private report(error: unknown): void {
    const line = this.failures.take();
    if (line === undefined) return;
    this.options.log.error(
      { error: firstLine(error), pending: this.pending.length, suppressed: line.suppressed },
      "revocation event not written yet (database unavailable); kept in memory and retried every second",
    );
  }
}
