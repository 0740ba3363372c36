import { Redis } from "ioredis";
import { REVOCATION_STREAM_KEY } from "@todo-gateway/config";
import type { EventSource, EventSink } from "./source.ts";

/** Longest a blocking XREAD waits before it is reissued (and the connection proven alive). */
const BLOCK_MS = 5_000;
const BATCH = 1_000;

/**
 * Events from the Redis stream (docs/revocation.md §3). At start, and again after every
 * reconnect, the whole stream is read (`XRANGE`), so nothing missed while away is skipped; in
 * between, a blocking `XREAD` from the last entry applied delivers each new event as soon as it
 * is added. The client has its own connection (a blocking read holds it), bounded timeouts, no
 * offline queue, an error listener, and reconnects with a backoff capped at 5 s.
 */
export class RedisEventSource implements EventSource {
  private readonly redis: Redis;
  private lastId = "0-0";
  private fullReadNeeded = true;
  private closed = false;
  private loop: Promise<void> | undefined;
  private ready = false;

  constructor(url: string, private readonly sink: EventSink) {
    this.redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 3_000,
      commandTimeout: BLOCK_MS + 5_000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => (this.closed ? null : Math.min(250 * 2 ** Math.min(attempt - 1, 5), 5_000)),
    });
    this.redis.on("error", (error) => this.sink.failed(error));
    this.redis.on("ready", () => {
      this.ready = true;
    });
    this.redis.on("close", () => {
      this.ready = false;
      this.fullReadNeeded = true;
      this.sink.disconnected();
    });
  }

  get description(): string {
    const url = new URL(this.redis.options.host ? `redis://${this.redis.options.host}:${this.redis.options.port}` : "redis://");
    return `Redis ${url.host} stream ${REVOCATION_STREAM_KEY}`;
  }

  start(): void {
    this.redis.connect().catch(() => undefined);
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (!this.ready) {
        await sleep(100);
        continue;
      }
      try {
        if (this.fullReadNeeded) await this.readAll();
        const answer = (await this.redis.xread("COUNT", BATCH, "BLOCK", BLOCK_MS, "STREAMS", REVOCATION_STREAM_KEY, this.lastId)) as StreamReply | null;
        if (answer !== null) await this.deliver(answer[0]?.[1] ?? []);
        this.sink.connected();
      } catch (error) {
        if (this.closed) return;
        this.sink.failed(error);
        await sleep(250);
      }
    }
  }

  /** Every entry the stream holds, oldest first, in batches. */
  private async readAll(): Promise<void> {
    let from = "-";
    for (;;) {
      const entries = (await this.redis.xrange(REVOCATION_STREAM_KEY, from, "+", "COUNT", BATCH)) as StreamEntry[];
      await this.deliver(entries);
      if (entries.length < BATCH) break;
      from = `(${entries[entries.length - 1]![0]}`;
    }
    this.fullReadNeeded = false;
    this.sink.loaded();
  }

  private async deliver(entries: readonly StreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const tokens: string[] = [];
    for (const [id, fields] of entries) {
      for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === "token") tokens.push(fields[i + 1]!);
      this.lastId = id;
    }
    await this.sink.receive(tokens);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.redis.disconnect();
    await this.loop;
  }
}

type StreamEntry = [id: string, fields: string[]];
type StreamReply = [key: string, entries: StreamEntry[]][];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
