import { request } from "undici";
import type { RevocationFeed } from "@todo-gateway/config";
import type { EventSource, EventSink } from "./source.ts";

/** How long the auth-service may hold a poll; the request's own deadline is a little longer. */
const WAIT_S = 25;
const MAX_FEED_BYTES = 16 * 1024 * 1024;

/**
 * Events from the auth-service's feed (docs/revocation.md §3), for the embedded stack without
 * Redis: a long poll that the auth-service answers when its set of events changes. Each answer
 * is the whole set, so after any failure the next answer is a full replay. Every poll has a
 * deadline and a size cap; failures back off up to 5 s.
 */
export class FeedEventSource implements EventSource {
  private closed = false;
  private loop: Promise<void> | undefined;
  private abort = new AbortController();

  constructor(private readonly url: string, private readonly sink: EventSink) {}

  get description(): string {
    return `feed ${this.url}`;
  }

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let version: string | undefined;
    let failures = 0;
    while (!this.closed) {
      try {
        const feed = await this.poll(version);
        await this.sink.receive(feed.events);
        if (version === undefined) this.sink.loaded();
        version = feed.version;
        failures = 0;
        this.sink.connected();
      } catch (error) {
        if (this.closed) return;
        version = undefined;
        failures += 1;
        this.sink.failed(error);
        this.sink.disconnected();
        await sleep(Math.min(250 * 2 ** Math.min(failures - 1, 5), 5_000));
      }
    }
  }

  private async poll(version: string | undefined): Promise<RevocationFeed> {
    const url = version === undefined ? this.url : `${this.url}?version=${encodeURIComponent(version)}&wait=${WAIT_S}`;
    const deadlineMs = (WAIT_S + 10) * 1000;
    const response = await request(url, {
      method: "GET", headers: { accept: "application/json", "accept-encoding": "identity" },
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(deadlineMs)]), headersTimeout: deadlineMs, bodyTimeout: deadlineMs,
    });
    const { body } = response;
    body.on("error", () => undefined);
    try {
      if (response.statusCode !== 200) throw new Error(`the feed answered ${response.statusCode}`);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of body) {
        size += (chunk as Buffer).length;
        if (size > MAX_FEED_BYTES) throw new Error(`the feed's answer is over ${MAX_FEED_BYTES} bytes`);
        chunks.push(chunk as Buffer);
      }
      const feed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Partial<RevocationFeed>;
      if (!Array.isArray(feed.events) || typeof feed.version !== "string") throw new Error("the feed's answer is not {events, version}");
      return { events: feed.events.filter((event): event is string => typeof event === "string"), version: feed.version };
    } finally {
      if (!body.destroyed) body.destroy();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await this.loop;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
