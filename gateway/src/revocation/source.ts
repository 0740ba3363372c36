/** Where events arrive from (Redis or the feed); both tell the same sink the same things. */
export interface EventSource {
  /** Where it reads from, for a log line (no credentials). */
  readonly description: string;
  start(): void;
  close(): Promise<void>;
}

export interface EventSink {
  /** Event tokens, oldest first (unverified: the sink checks each). */
  receive(tokens: readonly string[]): Promise<void>;
  /** Everything the source held has been delivered (at start, and after a reconnect). */
  loaded(): void;
  connected(): void;
  disconnected(): void;
  failed(error: unknown): void;
}
