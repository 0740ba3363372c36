import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { hostname } from "node:os";
import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";
import pretty from "pino-pretty";
import type { EnvReader } from "./env.ts";
import type { LogLevel } from "./log-level.ts";

/**
 * One log shape for the three services: pino's JSON lines (`level` as a number, `time` in ms
 * since the epoch, `pid`, `hostname`), a `service` field, the same redaction everywhere, and
 * `reqId` on every line written for a request — the id the gateway sent (`X-Request-Id`), so
 * one request can be followed through the gateway, the auth-service and the task API.
 * `LOG_FORMAT=pretty` turns the same lines into readable text for a terminal (`npm start`).
 */
export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function readLogFormat(env: EnvReader): LogFormat {
  return env.oneOf("LOG_FORMAT", LOG_FORMATS, "json");
}

/** Wherever these appear in a logged object, pino writes `[redacted]`: credentials and e-mail addresses. */
export const REDACTED_LOG_PATHS: readonly string[] = [
  "req.headers.authorization", "req.headers.cookie", "req.headers[\"proxy-authorization\"]", "res.headers[\"set-cookie\"]",
  "headers.authorization", "headers.cookie", "headers[\"set-cookie\"]",
  "*.authorization", "*.cookie", "*[\"set-cookie\"]",
  "token", "*.token", "secret", "*.secret", "password", "*.password", "email", "*.email",
];

/** Anything shaped like an e-mail address inside a message text (which redaction cannot reach). */
const EMAIL_LIKE = /[^\s"'<>()[\]@,;:]+@[^\s"'<>()[\]@,;:]+\.[^\s"'<>()[\]@,;:]+/g;

export function withoutEmails(text: string): string {
  return text.includes("@") ? text.replace(EMAIL_LIKE, "[email]") : text;
}

export interface ServiceLoggerOptions {
  readonly level: LogLevel;
  readonly format?: LogFormat;
  /** File descriptor the lines go to: 1 (stdout) or 2 (stderr). */
  readonly fd?: 1 | 2;
  /** Another destination (tests). */
  readonly stream?: NodeJS.WritableStream;
  /** Fields added to every line at the moment it is written (the current request's id). */
  readonly mixin?: () => Record<string, unknown>;
}

/** The pino options every service uses; exported for Fastify's own logger settings. */
export function serviceLoggerOptions(service: string, options: Pick<ServiceLoggerOptions, "level" | "mixin">): LoggerOptions {
  return {
    level: options.level,
    base: { pid: process.pid, hostname: hostname(), service },
    redact: { paths: [...REDACTED_LOG_PATHS], censor: "[redacted]" },
    // A failure's cause in words; never a stack, which can carry request data into the log.
    serializers: { err: (error: unknown) => describeError(error) },
    ...(options.mixin ? { mixin: options.mixin } : {}),
  };
}

/** A service's logger, in the one shape (see above). */
export function createServiceLogger(service: string, options: ServiceLoggerOptions): Logger {
  const pinoOptions = serviceLoggerOptions(service, options);
  if (options.stream) return pino(pinoOptions, options.stream as DestinationStream);
  if (options.format === "pretty") {
    return pino(pinoOptions, pretty({ colorize: true, destination: options.fd ?? 1, ignore: "pid,hostname", translateTime: "HH:MM:ss.l", sync: true }));
  }
  return pino(pinoOptions, pino.destination({ dest: options.fd ?? 1, sync: true }));
}

/** `{ type, message, code }` of an error, for the `err` field. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { type: error.name, message: withoutEmails(error.message.split("\n")[0]!), ...(typeof code === "string" ? { code } : {}) };
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * The request id of an incoming request: the caller's `X-Request-Id` when it is a sane token
 * (at most 128 of `[A-Za-z0-9._-]`), else a fresh one. The gateway returns it to the client and
 * sends it upstream; the services behind it log under the same id.
 */
export function requestIdFrom(headers: IncomingHttpHeaders): string {
  const offered = headers["x-request-id"];
  return typeof offered === "string" && SANE_REQUEST_ID.test(offered) ? offered : randomUUID();
}
