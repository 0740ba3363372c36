/**
 * The gateway's failure kinds. Each has a stable `code` (used in logs and metrics as the
 * refusal reason) and a short, safe `detail`; `respond.ts` is the only place that turns them
 * into HTTP. A `cause` is kept for the log and never rendered.
 */
export type GatewayErrorCode =
  | "missing_token"
  | "invalid_token"
  | "invalid_request"
  | "forbidden"
  | "malformed_target"
  | "route_not_found"
  | "method_not_allowed"
  | "bad_request"
  | "payload_too_large"
  | "headers_too_large"
  | "request_timeout"
  | "expectation_failed"
  | "unsupported_framing"
  | "keys_unavailable"
  | "overloaded"
  | "shutting_down"
  | "upstream_busy"
  | "too_many_requests"
  | "revocations_unavailable"
  | "upstream_unavailable"
  | "upstream_timeout"
  | "client_aborted"
  | "internal";

export abstract class GatewayError extends Error {
  abstract readonly code: GatewayErrorCode;
  abstract readonly status: number;
  abstract readonly title: string;
  /** For refusals a client should retry (503): the `Retry-After` it is told, in seconds. */
  readonly retryAfterS: number | undefined = undefined;

  constructor(readonly detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = new.target.name;
  }
}

/** No bearer token at all (RFC 6750 §3.1: the challenge carries no `error`). */
export class MissingTokenError extends GatewayError {
  readonly code = "missing_token";
  readonly status = 401;
  readonly title = "Authentication required";
}

/** A bearer token that is malformed, forged, expired or otherwise unacceptable. */
export class InvalidTokenError extends GatewayError {
  readonly code = "invalid_token";
  readonly status = 401;
  readonly title = "Invalid token";
}

/** An Authorization header the gateway refuses to interpret, e.g. sent twice. */
export class InvalidAuthRequestError extends GatewayError {
  readonly code = "invalid_request";
  readonly status = 400;
  readonly title = "Invalid request";
}

/** A valid token for someone else's resource. */
export class ForbiddenError extends GatewayError {
  readonly code = "forbidden";
  readonly status = 403;
  readonly title = "Forbidden";
}

/** A request target that is not plain origin-form (dot segments, encoded slashes, ...). */
export class MalformedTargetError extends GatewayError {
  readonly code = "malformed_target";
  readonly status = 400;
  readonly title = "Malformed request target";
}

export class BadRequestError extends GatewayError {
  readonly code = "bad_request";
  readonly status = 400;
  readonly title = "Bad request";
}

export class RouteNotFoundError extends GatewayError {
  readonly code = "route_not_found";
  readonly status = 404;
  readonly title = "Not found";
}

export class MethodNotAllowedError extends GatewayError {
  readonly code = "method_not_allowed";
  readonly status = 405;
  readonly title = "Method not allowed";

  constructor(readonly allow: readonly string[]) {
    super(`this path accepts ${allow.join(", ")}`);
  }
}

export class PayloadTooLargeError extends GatewayError {
  readonly code = "payload_too_large";
  readonly status = 413;
  readonly title = "Payload too large";
}

export class HeadersTooLargeError extends GatewayError {
  readonly code = "headers_too_large";
  readonly status = 431;
  readonly title = "Request header fields too large";
}

/** The request's headers or body did not arrive in time (HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS). */
export class RequestTimeoutError extends GatewayError {
  readonly code = "request_timeout";
  readonly status = 408;
  readonly title = "Request timeout";
}

/** An `Expect` the gateway cannot meet (anything but 100-continue). */
export class ExpectationFailedError extends GatewayError {
  readonly code = "expectation_failed";
  readonly status = 417;
  readonly title = "Expectation failed";
}

/** A transfer coding other than plain `chunked`: the gateway would forward bytes it cannot read. */
export class UnsupportedFramingError extends GatewayError {
  readonly code = "unsupported_framing";
  readonly status = 501;
  readonly title = "Not implemented";
}

/** No signing keys could be loaded yet, so no token can be checked. */
export class KeysUnavailableError extends GatewayError {
  readonly code = "keys_unavailable";
  readonly status = 503;
  readonly title = "Signing keys unavailable";
  override readonly retryAfterS = 5;
}

/** A rate limit (per user or per address) is used up for this window. */
export class TooManyRequestsError extends GatewayError {
  readonly code = "too_many_requests";
  readonly status = 429;
  readonly title = "Too many requests";
  override readonly retryAfterS: number;

  constructor(detail: string, readonly limit: { readonly limit: number; readonly remaining: number; readonly resetS: number }) {
    super(detail);
    this.retryAfterS = limit.resetS;
  }
}

/** The gateway sheds this request to stay responsive (event loop lag, body memory budget). */
export class OverloadedError extends GatewayError {
  readonly code = "overloaded";
  readonly status = 503;
  readonly title = "Service unavailable";
  override readonly retryAfterS = 1;
}

/** A request that arrived while the gateway drains for shutdown: retry on another instance. */
export class ShuttingDownError extends GatewayError {
  readonly code = "shutting_down";
  readonly status = 503;
  readonly title = "Service unavailable";
  override readonly retryAfterS = 1;
}

/** `REVOCATION_FAIL_MODE=closed` and the revocation source is unreachable: protected routes wait. */
export class RevocationsUnavailableError extends GatewayError {
  readonly code = "revocations_unavailable";
  readonly status = 503;
  readonly title = "Service unavailable";
  override readonly retryAfterS = 5;
}

/** Every connection to the upstream is busy and its waiting queue is full. */
export class UpstreamBusyError extends GatewayError {
  readonly code = "upstream_busy";
  readonly status = 503;
  readonly title = "Service unavailable";
  override readonly retryAfterS = 1;
}

export class UpstreamUnavailableError extends GatewayError {
  readonly code = "upstream_unavailable";
  readonly status = 502;
  readonly title = "Bad gateway";
}

export class UpstreamTimeoutError extends GatewayError {
  readonly code = "upstream_timeout";
  readonly status = 504;
  readonly title = "Gateway timeout";
}

/**
 * The client went away before its answer (nginx's 499). Nothing is sent; it is logged and
 * counted as such, never as a gateway failure.
 */
export class ClientAbortedError extends GatewayError {
  readonly code = "client_aborted";
  readonly status = 499;
  readonly title = "Client closed request";
}

export class InternalError extends GatewayError {
  readonly code = "internal";
  readonly status = 500;
  readonly title = "Internal error";
}
