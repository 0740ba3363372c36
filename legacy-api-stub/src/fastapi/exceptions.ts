import type { PyValue } from "./python-json.ts";

/**
 * The two ways a FastAPI application refuses a request, named as FastAPI names them. Handlers
 * throw them; `respond.ts` is the only place that turns them into status, headers and body.
 */

/** One entry of a 422 `detail` list, as pydantic v2 reports it (FastAPI drops `url`). */
export interface ValidationIssue {
  readonly type: string;
  readonly loc: readonly (string | number)[];
  readonly msg: string;
  /** The offending value; a request body sent as another content type arrives as bytes. */
  readonly input: PyValue | Uint8Array;
  readonly ctx?: Readonly<Record<string, PyValue>>;
}

/** Python 3.12's `http.HTTPStatus` phrases, which Starlette uses as the default `detail`. */
const PHRASES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Request Entity Too Large",
};

/** `starlette.exceptions.HTTPException`: answered as `{"detail": ...}`. */
export class HTTPException extends Error {
  readonly detail: string;

  constructor(
    readonly statusCode: number,
    detail?: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    const text = detail ?? PHRASES[statusCode] ?? "Error";
    super(text);
    this.name = "HTTPException";
    this.detail = text;
  }
}

/** `fastapi.exceptions.RequestValidationError`: answered 422 `{"detail": [issues...]}`. */
export class RequestValidationError extends Error {
  constructor(readonly errors: readonly ValidationIssue[]) {
    super(errors.map((issue) => `${issue.loc.join(".")}: ${issue.msg}`).join("; "));
    this.name = "RequestValidationError";
  }
}
