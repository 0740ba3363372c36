import type { IncomingMessage } from "node:http";
import { HTTPException, RequestValidationError } from "./exceptions.ts";
import { BodyDecodeError, JsonDecodeError, loadsBytes, type PyValue } from "./python-json.ts";

/**
 * What a FastAPI route with a body parameter receives (fastapi/routing.py, get_request_handler):
 * - no bytes at all: `None` (the model then reports `missing`);
 * - a JSON content type (`application/json`, `application/*+json`) or none at all: the bytes go
 *   through `json.loads`; a syntax error is a 422 `json_invalid`, any other failure a 400;
 * - any other content type: the raw bytes, which the model refuses as `model_attributes_type`.
 */
export type RequestBody = PyValue | Uint8Array;

/** Reads and decodes the body of a route that declares one; routes without a body never read it. */
export async function readRequestBody(raw: IncomingMessage, limitBytes: number): Promise<RequestBody> {
  const bytes = await readBytes(raw, limitBytes);
  if (bytes.length === 0) return null;
  if (!isJsonContentType(raw.headers["content-type"])) return bytes;
  try {
    return loadsBytes(bytes);
  } catch (error) {
    if (error instanceof JsonDecodeError) {
      throw new RequestValidationError([
        { type: "json_invalid", loc: ["body", error.pos], msg: "JSON decode error", input: new Map(), ctx: { error: error.msg } },
      ]);
    }
    if (error instanceof BodyDecodeError) throw new HTTPException(400, "There was an error parsing the body");
    throw error;
  }
}

/** The content type test FastAPI makes with `email.message.Message`. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return true;
  const type = header.split(";", 1)[0]!.trim().toLowerCase();
  // email.message treats anything but exactly one "/" as text/plain.
  const parts = type.split("/");
  if (parts.length !== 2) return false;
  const [main, sub] = parts as [string, string];
  return main === "application" && (sub === "json" || sub.endsWith("+json"));
}

/**
 * FastAPI reads bodies of any size; this stand-in stops at `limitBytes` with a 413 and closes the
 * connection rather than read the rest.
 */
function readBytes(raw: IncomingMessage, limitBytes: number): Promise<Uint8Array> {
  const tooLarge = () => new HTTPException(413, undefined, { connection: "close" });
  if (Number(raw.headers["content-length"] ?? 0) > limitBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (outcome: () => void) => {
      raw.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) {
        chunks.push(chunk);
        return;
      }
      // Pausing (not destroying) the stream keeps the socket open for the 413.
      raw.pause();
      settle(() => reject(tooLarge()));
    };
    const onEnd = () => settle(() => resolve(Buffer.concat(chunks)));
    const onError = (error: Error) => settle(() => reject(error));
    const onClose = () => settle(() => reject(new Error("request closed before its body was complete")));
    raw.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });
}
