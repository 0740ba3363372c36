import { InvalidAuthRequestError, InvalidTokenError, MissingTokenError } from "../errors.ts";

/**
 * Finds the bearer token (docs/behaviour.md §4.1): only from one `Authorization` header. Node keeps just
 * the first of repeated Authorization headers in `req.headers`, so the raw list is counted.
 */
export function extractBearerToken(rawHeaders: readonly string[], maxTokenBytes: number): string {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && name.toLowerCase() === "authorization") {
      if (value !== undefined) throw new InvalidAuthRequestError("more than one Authorization header");
      value = rawHeaders[i + 1]!;
    }
  }
  if (value === undefined) throw new MissingTokenError("a bearer token is required");
  const space = value.indexOf(" ");
  const scheme = space === -1 ? value : value.slice(0, space);
  if (scheme.toLowerCase() !== "bearer") {
    // RFC 6750 §3.1: an unsupported scheme is answered like a request without credentials.
    throw new MissingTokenError("a bearer token is required");
  }
  const token = space === -1 ? "" : withoutOws(value.slice(space + 1));
  if (token === "") throw new InvalidTokenError("empty bearer token");
  if (token.length > maxTokenBytes) throw new InvalidTokenError("token too large");
  return token;
}

/**
 * Only spaces and tabs around the token (RFC 9110 OWS); trim() would also take U+00A0, so a
 * token sent with one would be verified without it and forwarded with it.
 */
function withoutOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === 0x20 || text.charCodeAt(start) === 0x09)) start += 1;
  while (end > start && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 0x09)) end -= 1;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}
