import type { FastifyReply } from "fastify";
import {
  GatewayError, HeadersTooLargeError, InternalError, InvalidAuthRequestError, InvalidTokenError,
  MethodNotAllowedError, MissingTokenError, PayloadTooLargeError, BadRequestError, RequestTimeoutError,
} from "./errors.ts";

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

/** The only place a gateway error becomes a status, headers and a problem+json body. */
export function sendProblem(reply: FastifyReply, error: GatewayError): FastifyReply {
  reply.code(error.status).header("content-type", "application/problem+json").header("cache-control", "no-store");
  const challenge = challengeFor(error);
  if (challenge !== undefined) reply.header("www-authenticate", challenge);
  if (error instanceof MethodNotAllowedError) reply.header("allow", error.allow.join(", "));
  if (error.retryAfterS !== undefined) reply.header("retry-after", String(error.retryAfterS));
  return reply.send(Buffer.from(JSON.stringify(problemBody(error))));
}

/** For errors answered outside Fastify (the HTTP parser's, CONNECT): a complete raw response. */
export function rawProblemResponse(error: GatewayError): string {
  const body = JSON.stringify(problemBody(error));
  const allow = error instanceof MethodNotAllowedError ? `Allow: ${error.allow.join(", ")}\r\n` : "";
  const retryAfter = error.retryAfterS === undefined ? "" : `Retry-After: ${error.retryAfterS}\r\n`;
  return (
    `HTTP/1.1 ${error.status} ${error.title}\r\n` +
    "Content-Type: application/problem+json\r\n" +
    "Cache-Control: no-store\r\n" +
    allow +
    retryAfter +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    "Connection: close\r\n\r\n" +
    body
  );
}
