import type { FastifyReply } from "fastify";
import { HTTPException, RequestValidationError, type ValidationIssue } from "./exceptions.ts";
import { dumps } from "./python-json.ts";

/**
 * The only place an answer or a refusal becomes status, headers and bytes, shaped as FastAPI's
 * own responses and default exception handlers shape them (fastapi/exception_handlers.py):
 * `application/json` without a charset, compact JSON, `{"detail": ...}` for errors, and a plain
 * "Internal Server Error" for anything unexpected (Starlette's ServerErrorMiddleware).
 */
export type Answer =
  | { readonly kind: "json"; readonly status: number; readonly body: unknown }
  | { readonly kind: "no-content" }
  | { readonly kind: "redirect"; readonly location: string };

export const json = (status: number, body: unknown): Answer => ({ kind: "json", status, body });
export const noContent: Answer = { kind: "no-content" };
/** Starlette's RedirectResponse: 307, an empty body. */
export const redirect = (location: string): Answer => ({ kind: "redirect", location });

export function sendAnswer(reply: FastifyReply, answer: Answer): FastifyReply {
  switch (answer.kind) {
    case "json":
      return sendJson(reply, answer.status, answer.body);
    case "no-content":
      // A FastAPI route declared with status_code=204 keeps its JSON media type and sends no body.
      return reply.code(204).header("content-type", "application/json").send();
    case "redirect":
      return reply.code(307).header("location", answer.location).header("content-length", "0").send();
  }
}

/** For Fastify's error handler: FastAPI's answer to whatever a route threw. */
export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof RequestValidationError) return sendJson(reply, 422, () => ({ detail: error.errors.map(encodeIssue) }));
  if (error instanceof HTTPException) return sendJson(reply.headers(error.headers), error.statusCode, { detail: error.detail });
  return sendInternalError(reply);
}

/** `body` may be a function, so that a failure while encoding it also ends as FastAPI's 500. */
function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  let payload: string;
  try {
    payload = dumps(typeof body === "function" ? body() : body);
  } catch (error) {
    // As in Python: json.dumps(allow_nan=False), or decoding a non-UTF-8 body echoed as `input`,
    // fails while the response is rendered, and the client gets a 500.
    reply.log.error({ err: error }, "response body cannot be encoded as JSON");
    return sendInternalError(reply);
  }
  // A Buffer, so Fastify leaves the content type as FastAPI sends it (no "; charset=utf-8").
  return reply.code(status).header("content-type", "application/json").send(Buffer.from(payload));
}

function sendInternalError(reply: FastifyReply): FastifyReply {
  return reply.code(500).header("content-type", "text/plain; charset=utf-8").send(Buffer.from("Internal Server Error"));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** `jsonable_encoder` on an issue: bytes (a non-JSON body) are decoded as UTF-8 and must be valid. */
function encodeIssue(issue: ValidationIssue): unknown {
  const input = issue.input instanceof Uint8Array ? utf8.decode(issue.input) : issue.input;
  return { type: issue.type, loc: issue.loc, msg: issue.msg, input, ctx: issue.ctx };
}
