import { hostname } from "node:os";
import { pino, type Logger } from "pino";
import { createServiceLogger, serviceLoggerOptions, type LogFormat, type LogLevel } from "@todo-gateway/config";

/** The one line written per request: request id, method, route, status, duration, client, sub, reason. */
export interface AccessEntry {
  readonly reqId: string;
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly ms: number;
  /** The client's address as resolved through TRUSTED_PROXIES (what rate limits count by). */
  readonly client: string | undefined;
  readonly sub: string | undefined;
  readonly reason: string | undefined;
}

export interface GatewayLogger {
  /** Everything but the per-request line: start-up, failures, reloads. */
  readonly log: Logger;
  /** Writes the per-request line, or nothing below `info`. */
  readonly access: (entry: AccessEntry) => void;
}

/**
 * The gateway's loggers, in the shape every service logs in (config/src/logging.ts). Fastify's
 * request logger is off (it builds a pino child per request). The per-request line is written
 * directly in pino's JSON shape: its fields are the gateway's own names and codes, a validated
 * request id and method, and the client address and `sub` (JSON-escaped), so it needs none of
 * pino's generic work (redaction, serializers), which costs more than the rest of a
 * cached-token request. On stdout, lines are buffered and written in batches, flushed every
 * second and on exit, so a clean stop loses nothing. In `pretty` format every line goes
 * through pino-pretty instead.
 */
export function createLogger(level: LogLevel, format: LogFormat = "json", stream?: NodeJS.WritableStream): GatewayLogger {
  const options = serviceLoggerOptions("gateway", { level });
  if (level === "silent") return { log: pino(options), access: () => undefined };
  if (format === "pretty" && stream === undefined) {
    const log = createServiceLogger("gateway", { level, format });
    return { log, access: log.isLevelEnabled("info") ? (entry) => log.info(accessFields(entry), "request") : () => undefined };
  }
  let destination: NodeJS.WritableStream;
  if (stream) {
    destination = stream;
  } else {
    const buffered = pino.destination({ dest: 1, sync: false, minLength: 8 * 1024 });
    setInterval(() => buffered.flush(), 1_000).unref();
    process.once("exit", () => {
      try {
        buffered.flushSync();
      } catch {
        // stdout already closed: nothing left to save.
      }
    });
    destination = buffered as unknown as NodeJS.WritableStream;
  }
  const log = pino(options, destination as pino.DestinationStream);
  if (!log.isLevelEnabled("info")) return { log, access: () => undefined };
  const origin = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"service":"gateway"`;
  const access = (entry: AccessEntry) => {
    destination.write(
      `{"level":30,"time":${Date.now()}${origin},"reqId":"${entry.reqId}","method":"${entry.method}","route":"${entry.route}",` +
        `"status":${entry.status},"ms":${entry.ms}${entry.client === undefined ? "" : `,"client":${JSON.stringify(entry.client)}`}` +
        `${entry.sub === undefined ? "" : `,"sub":${JSON.stringify(entry.sub)}`},` +
        `"granted":${entry.reason === undefined}${entry.reason === undefined ? "" : `,"reason":"${entry.reason}"`},"msg":"request"}\n`,
    );
  };
  return { log, access };
}

function accessFields(entry: AccessEntry): Record<string, unknown> {
  return { ...entry, granted: entry.reason === undefined };
}

/**
 * Warnings about a failing dependency (the JWKS, an upstream), at most one line per kind every
 * {@link intervalMs}, each the cause in words and never a stack: a dependency that is down for
 * an hour costs a few hundred lines, not one per retry or per request.
 */
export class DependencyWarnings {
  private readonly lastAt = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly log: Logger, private readonly intervalMs = 10_000, private readonly now: () => number = Date.now) {}

  warn(kind: string, message: string, fields: Record<string, unknown> = {}): void {
    const now = this.now();
    const last = this.lastAt.get(kind);
    if (last !== undefined && now - last.at < this.intervalMs) {
      last.suppressed += 1;
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    this.lastAt.set(kind, { at: now, suppressed: 0 });
    this.log.warn({ ...fields, ...(suppressed > 0 && { suppressedSinceLast: suppressed }) }, message);
  }
}

/** The cause of a failure in a few words (its code and message), for a one-line log entry. */
export function describeCause(error: unknown): string {
  let cause: unknown = error;
  // Wrapped failures keep the transport error as cause: report the innermost.
  while (cause instanceof Error && cause.cause !== undefined && cause.cause !== cause) cause = cause.cause;
  if (typeof cause === "symbol") return cause.description ?? "aborted";
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  const text = cause.message.split("\n")[0]!.slice(0, 200);
  return typeof code === "string" && !text.includes(code) ? `${code}: ${text}` : text;
}
