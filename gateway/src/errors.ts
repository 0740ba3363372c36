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
  | "keys_unavailable"
  | "upstream_unavailable"
  | "upstream_timeout"
  | "internal";

export abstract class GatewayError extends Error {
  abstract readonly code: GatewayErrorCode;
  abstract readonly status: number;
  abstract readonly title: string;

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

/** No signing keys could be loaded yet, so no token can be checked. */
export class KeysUnavailableError extends GatewayError {
  readonly code = "keys_unavailable";
  readonly status = 503;
  readonly title = "Signing keys unavailable";
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

export class InternalError extends GatewayError {
  readonly code = "internal";
  readonly status = 500;
  readonly title = "Internal error";
}
