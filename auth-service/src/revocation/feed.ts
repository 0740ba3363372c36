/**
 * The HTTP feed (docs/revocation.md §3): `GET /internal/revocations` answers every unexpired
 * event, oldest first, with a version; `?version=<v>&wait=<s>` holds the request until the set
 * differs from `v` or `wait` seconds pass. Events written by this process wake the waiters at
 * once; while anyone waits the outbox is re-read every {@link FEED_RECHECK_MS} so events written
 * by another replica on the same database (and expiries) are seen too.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RevocationFeed as FeedBody } from "@todo-gateway/config";
import type { Logger } from "../log.ts";
import { sendJson } from "../respond.ts";
import type { Outbox } from "./outbox.ts";
import { firstLine, LogThrottle } from "./throttle.ts";

/** The longest a request may wait (`wait` above it is cut to it). */
export const FEED_MAX_WAIT_S = 30;
/** Requests that may wait at once; past it a request is answered at once. */
export const FEED_MAX_WAITERS = 1000;
/** How often the outbox is re-read while anyone waits. */
export const FEED_RECHECK_MS = 500;
/** A version is what this feed returned: a short base64url digest. */
const VERSION_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface RevocationFeedOptions {
  readonly outbox: Outbox;
  /** ms since the epoch: which events are still unexpired. */
  readonly now: () => number;
  readonly log: Logger;
  readonly maxWaiters?: number;
  readonly recheckMs?: number;
}

interface Waiter {
  readonly version: string;
  readonly answer: (snapshot: FeedBody) => void;
  readonly expire: () => void;
}

/** The version of a set of events: the same set gives the same version, whatever the order. */
export function feedVersion(ids: readonly string[]): string {
  return createHash("sha256").update([...ids].sort().join("\n")).digest("base64url").slice(0, 22);
}

export class RevocationFeed {
  private readonly waiters = new Set<Waiter>();
  private readonly maxWaiters: number;
  private readonly recheckMs: number;
  private readonly problems = new LogThrottle(30_000);
  private latest: FeedBody | undefined;
  private reading: Promise<FeedBody> | undefined;
  private queued: Promise<FeedBody> | undefined;
  private recheckTimer: NodeJS.Timeout | undefined;
  private rechecking = false;
  private closed = false;

  constructor(private readonly options: RevocationFeedOptions) {
    this.maxWaiters = options.maxWaiters ?? FEED_MAX_WAITERS;
    this.recheckMs = options.recheckMs ?? FEED_RECHECK_MS;
  }

  /** Requests waiting now. */
  get waiting(): number {
    return this.waiters.size;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return sendJson(res, 405, { code: "METHOD_NOT_ALLOWED", message: "The revocation feed answers GET and HEAD only" }, { headers: { allow: "GET, HEAD" } });
    }
    const head = req.method === "HEAD";
    const query = new URL(req.url ?? "/", "http://feed.invalid").searchParams;
    const version = query.get("version");
    const waitText = query.get("wait");
    if (version !== null && !VERSION_PATTERN.test(version)) {
      return sendJson(res, 400, { code: "BAD_REQUEST", message: "version must be a version this feed returned" }, { head });
    }
    if (waitText !== null && !/^\d{1,6}$/.test(waitText)) {
      return sendJson(res, 400, { code: "BAD_REQUEST", message: `wait must be a whole number of seconds (0-${FEED_MAX_WAIT_S})` }, { head });
    }
    const waitS = Math.min(Number(waitText ?? 0), FEED_MAX_WAIT_S);

    let snapshot: FeedBody;
    try {
      snapshot = await this.fresh();
    } catch (error) {
      return this.unavailable(res, head, error);
    }
    const mayWait = !head && version !== null && waitS > 0 && !this.closed && this.waiters.size < this.maxWaiters;
    if (!mayWait || snapshot.version !== version || (this.latest !== undefined && this.latest.version !== version)) {
      return this.send(res, this.latest ?? snapshot, head);
    }
    this.wait(req, res, version, waitS);
  }

  /** This process wrote an event: answer the waiters now rather than at the next re-check. */
  notify(): void {
    if (this.waiters.size === 0 || this.closed) return;
    this.fresh().catch((error: unknown) => this.problem(error));
  }

  /** Answers every waiter now (with the last set read) and accepts no new waits. */
  close(): void {
    this.closed = true;
    this.stopRecheck();
    for (const waiter of [...this.waiters]) {
      if (this.latest !== undefined) waiter.answer(this.latest);
      else waiter.expire();
    }
  }

  private wait(req: IncomingMessage, res: ServerResponse, version: string, waitS: number): void {
    let timer: NodeJS.Timeout | undefined = undefined;
    const leave = () => {
      this.waiters.delete(waiter);
      if (timer !== undefined) clearTimeout(timer);
      if (this.waiters.size === 0) this.stopRecheck();
    };
    const waiter: Waiter = {
      version,
      answer: (snapshot) => {
        leave();
        this.send(res, snapshot, false);
      },
      expire: () => {
        leave();
        this.fresh().then(
          (snapshot) => this.send(res, snapshot, false),
          (error: unknown) => this.unavailable(res, false, error),
        );
      },
    };
    this.waiters.add(waiter);
    timer = setTimeout(waiter.expire, waitS * 1000);
    timer.unref();
    // A client that gives up is forgotten at once: the bound counts only live requests.
    res.once("close", leave);
    req.once("error", leave);
    this.startRecheck();
  }

  /**
   * The current set, read now. A read already under way may have started before the write that
   * asked for this one, so at most one more read is queued behind it and shared by every caller.
   */
  private fresh(): Promise<FeedBody> {
    if (this.reading === undefined) return this.read();
    this.queued ??= this.reading.then(
      () => this.afterQueue(),
      () => this.afterQueue(),
    );
    return this.queued;
  }

  private afterQueue(): Promise<FeedBody> {
    this.queued = undefined;
    return this.read();
  }

  private read(): Promise<FeedBody> {
    const reading = (async () => {
      const { events, truncated } = await this.options.outbox.unexpired(this.options.now());
      if (truncated) this.problem(new Error(`more than ${events.length} unexpired events; serving the newest ${events.length}`));
      const snapshot: FeedBody = { events: events.map((event) => event.token), version: feedVersion(events.map((event) => event.id)) };
      this.publish(snapshot);
      return snapshot;
    })().finally(() => {
      if (this.reading === reading) this.reading = undefined;
    });
    this.reading = reading;
    return reading;
  }

  private publish(snapshot: FeedBody): void {
    this.latest = snapshot;
    for (const waiter of [...this.waiters]) {
      if (waiter.version !== snapshot.version) waiter.answer(snapshot);
    }
  }

  private startRecheck(): void {
    if (this.recheckTimer !== undefined || this.closed) return;
    this.recheckTimer = setInterval(() => void this.recheck(), this.recheckMs);
    this.recheckTimer.unref();
  }

  private stopRecheck(): void {
    if (this.recheckTimer !== undefined) clearInterval(this.recheckTimer);
    this.recheckTimer = undefined;
  }

  /** Cheap first: only the ids; the tokens are read when the set has changed. */
  private async recheck(): Promise<void> {
    if (this.rechecking || this.waiters.size === 0) return;
    this.rechecking = true;
    try {
      const version = feedVersion(await this.options.outbox.unexpiredIds(this.options.now()));
      if (version !== this.latest?.version) await this.fresh();
    } catch (error) {
      this.problem(error);
    } finally {
      this.rechecking = false;
    }
  }

  private send(res: ServerResponse, snapshot: FeedBody, head: boolean): void {
    sendJson(res, 200, snapshot, { head, headers: { "cache-control": "no-store" } });
  }

  private unavailable(res: ServerResponse, head: boolean, error: unknown): void {
    this.problem(error);
    sendJson(res, 503, { code: "SERVICE_UNAVAILABLE", message: "The revocation events cannot be read now; try again" }, { head, headers: { "retry-after": "1", "cache-control": "no-store" } });
  }

  private problem(error: unknown): void {
    const line = this.problems.take();
    if (line !== undefined) this.options.log.warn({ error: firstLine(error), suppressed: line.suppressed }, "revocation feed: cannot read the outbox");
  }
}
