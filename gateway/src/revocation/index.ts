import type { GatewayRevocationConfig } from "@todo-gateway/config";
import type { KeyResolver } from "../auth/keys.ts";
import type { VerifiedToken } from "../auth/verifier.ts";
import { InvalidTokenError, RevocationsUnavailableError } from "../errors.ts";
import { EventVerifier } from "./event-verifier.ts";
import { FeedEventSource } from "./feed-source.ts";
import { RedisEventSource } from "./redis-source.ts";
import type { EventSink, EventSource } from "./source.ts";
import { RevocationView } from "./view.ts";

export interface RevocationEvents {
  /** An event refused (unsigned, forged, malformed, expired): logged, never applied. */
  onRefusedEvent?(reason: string): void;
  /** The source failed (a connection lost, a bad answer). */
  onSourceFailure?(error: unknown): void;
  /** Once, when the source cannot be reached at start. */
  onUnreachableAtStart?(source: string, error: unknown): void;
}

export interface RevocationStatus {
  readonly enabled: boolean;
  /** The current events have been read at least once. */
  readonly loaded: boolean;
  readonly connected: boolean;
  readonly failMode: "open" | "closed" | undefined;
  readonly held: number;
  /** Age of the newest event when it was applied, in seconds (NaN before any). */
  readonly lagSeconds: number;
  readonly description: string;
}

/** How long start-up waits for the first read of the events before it goes on without them. */
const FIRST_LOAD_WAIT_MS = 3_000;

/**
 * The revocation check (docs/revocation.md §4): events arrive from Redis or the auth-service's
 * feed, are verified with the JWKS's keys and applied to a view that every protected request is
 * checked against, with no network call on the request path. In `closed` fail mode a gateway
 * that has lost its source (or never had it) refuses protected requests with 503.
 */
export class Revocations implements EventSink {
  private readonly view: RevocationView;
  private readonly verifier: EventVerifier | undefined;
  private readonly source: EventSource | undefined;
  private loadedOnce = false;
  private isConnected = false;
  private lastLagSeconds = Number.NaN;
  private firstLoad: (() => void) | undefined;
  private firstFailure: unknown;
  private readonly now: () => number;

  constructor(
    private readonly config: GatewayRevocationConfig,
    keys: KeyResolver,
    options: { issuer: string | undefined; clockToleranceS: number; now?: () => number; events?: RevocationEvents },
  ) {
    this.now = options.now ?? Date.now;
    this.events = options.events ?? {};
    this.view = new RevocationView(options.clockToleranceS * 1000, this.now);
    if (config.source === "off") return;
    this.verifier = new EventVerifier(keys, options.issuer, this.now);
    this.source = config.source === "redis" ? new RedisEventSource(config.redisUrl, this) : new FeedEventSource(config.feedUrl, this);
  }

  private readonly events: RevocationEvents;

  /** Starts reading events; waits a little for the first read, so a fresh gateway starts with the record. */
  async start(): Promise<void> {
    if (this.source === undefined) return;
    this.view.startPruning();
    const loaded = new Promise<void>((resolve) => (this.firstLoad = resolve));
    this.source.start();
    // A referenced timer: during start-up nothing else may keep the process alive.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), FIRST_LOAD_WAIT_MS)));
    const first = await Promise.race([loaded, timedOut]);
    clearTimeout(timer);
    if (first === "timeout") this.events.onUnreachableAtStart?.(this.source.description, this.firstFailure ?? new Error("no answer yet"));
  }

  async close(): Promise<void> {
    this.view.stop();
    await this.source?.close();
  }

  /** Throws the refusal for a revoked token, or (closed mode, no source) a 503. */
  check(identity: VerifiedToken): void {
    if (this.source === undefined) return;
    if (this.config.source !== "off" && this.config.failMode === "closed" && !(this.loadedOnce && this.isConnected)) {
      throw new RevocationsUnavailableError("revocations cannot be checked right now; try again shortly");
    }
    if (this.view.revokes(identity)) throw new InvalidTokenError("token revoked");
  }

  get status(): RevocationStatus {
    return {
      enabled: this.source !== undefined,
      loaded: this.loadedOnce,
      connected: this.isConnected,
      failMode: this.config.source === "off" ? undefined : this.config.failMode,
      held: this.view.size,
      lagSeconds: this.lastLagSeconds,
      description: this.source?.description ?? "off",
    };
  }

  // EventSink: what the sources report.

  async receive(tokens: readonly string[]): Promise<void> {
    const verifier = this.verifier!;
    for (const token of tokens) {
      if (verifier.known(token)) continue;
      const event = await verifier.verify(token);
      if ("refused" in event) {
        this.events.onRefusedEvent?.(event.refused);
        continue;
      }
      verifier.remember(token, event);
      this.view.apply(event.claims, event.exp);
      this.lastLagSeconds = Math.max(0, this.now() / 1000 - event.iat);
    }
    verifier.prune();
  }

  loaded(): void {
    this.loadedOnce = true;
    this.isConnected = true;
    this.firstLoad?.();
    this.firstLoad = undefined;
  }

  connected(): void {
    this.isConnected = true;
  }

  disconnected(): void {
    this.isConnected = false;
  }

  failed(error: unknown): void {
    this.firstFailure ??= error;
    this.events.onSourceFailure?.(error);
  }
}
