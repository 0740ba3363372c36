import type { ServerResponse } from "node:http";
import {
  GatewayError, HeadersTooLargeError, InternalError, InvalidAuthRequestError, InvalidTokenError,
  MethodNotAllowedError, MissingTokenError, PayloadTooLargeError, BadRequestError, RequestTimeoutError, TooManyRequestsError,
} from "./errors.ts";

/**
 * The only place a gateway error becomes HTTP: its status, the RFC 6750 challenge, `Allow`,
 * `Retry-After` and the RFC 9457 problem body, for answers written on a response and for raw
 * answers written straight to a socket (parser errors, CONNECT).
 */
export const REALM = "todo-gateway";
const PROBLEM_TYPE_BASE = "urn:todo-gateway:problem:";

/** The RFC 9457 body every refusal carries. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
}

export function problemBody(error: GatewayError): ProblemBody {
  return {
    type: PROBLEM_TYPE_BASE + error.code.replaceAll("_", "-"),
    title: error.title,
    status: error.status,
    detail: error.detail,
  };
}

/**
 * The RFC 6750 §3 challenge for a refusal, or `undefined` when none applies. The description
 * is one of our own fixed phrases, so it never needs escaping and never echoes client input.
 */
export function challengeFor(error: GatewayError): string | undefined {
  if (error instanceof MissingTokenError) return `Bearer realm="${REALM}"`;
  if (error instanceof InvalidTokenError || error instanceof InvalidAuthRequestError) {
    return `Bearer realm="${REALM}", error="${error.code}", error_description="${error.detail}"`;
  }
  return undefined;
}

/** Turns any thrown value into the gateway error that will be rendered. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new PayloadTooLargeError("the request body is larger than 1 MiB", { cause: error });
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_ERR_BAD_URL":
      return new BadRequestError("the request could not be parsed", { cause: error });
    case "HPE_HEADER_OVERFLOW":
      return new HeadersTooLargeError("the request headers are too large", { cause: error });
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return new RequestTimeoutError("the request did not arrive in time", { cause: error });
    default:
      return new InternalError("the gateway failed to handle the request", { cause: error });
  }
}

/** The headers of a refusal, as `[name, value, ...]`, without framing. */
function problemHeaders(error: GatewayError, body: string): string[] {
  const headers = ["content-type", "application/problem+json", "cache-control", "no-store", "content-length", String(Buffer.byteLength(body))];
  const challenge = challengeFor(error);
  if (challenge !== undefined) headers.push("www-authenticate", challenge);
  if (error instanceof MethodNotAllowedError) headers.push("allow", error.allow.join(", "));
  if (error.retryAfterS !== undefined) headers.push("retry-after", String(error.retryAfterS));
  if (error instanceof TooManyRequestsError) headers.push(...rateLimitHeaders(error.limit));
  return headers;
}

/**
 * The RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset fields of
 * draft-ietf-httpapi-ratelimit-headers-06 (the last draft to define them; -07 on fold them into
 * one RateLimit field beside RateLimit-Policy): the limit, what is left of it, and the seconds
 * until it resets, each a bare non-negative integer.
 */
export function rateLimitHeaders(state: { readonly limit: number; readonly remaining: number; readonly resetS: number }): string[] {
  return ["ratelimit-limit", String(state.limit), "ratelimit-remaining", String(state.remaining), "ratelimit-reset", String(state.resetS)];
}

/** Writes a refusal on a response whose head has not gone out (headers set before are kept). */
export function writeProblem(res: ServerResponse, error: GatewayError): void {
  const body = JSON.stringify(problemBody(error));
  res.writeHead(error.status, problemHeaders(error, body));
  res.end(body);
}

/** For errors answered outside a response (the HTTP parser's, CONNECT): a complete raw answer. */
export function rawProblemResponse(error: GatewayError): string {
  const body = JSON.stringify(problemBody(error));
  const headers = problemHeaders(error, body);
  let head = `HTTP/1.1 ${error.status} ${error.title}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}connection: close\r\n\r\n${body}`;
}
