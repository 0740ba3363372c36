import { InvalidTokenError } from "../errors.ts";
import { parseJsonObjectStrict } from "./strict-json.ts";

/** A compact JWS split and its protected header decoded, before any signature work. */
export interface ParsedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;
// Values of the last base64url character whose unused low bits are zero, by leftover length.
const CANONICAL_LAST_2 = /[AQgw]$/; // 2 chars left over: 4 unused bits
const CANONICAL_LAST_3 = /[AEIMQUYcgkosw048]$/; // 3 chars left over: 2 unused bits

/**
 * Checks the compact serialization strictly (RFC 7515 §7.1, RFC 4648 §5 without padding and
 * with canonical trailing bits, so no two strings decode to one token) and decodes header and
 * payload, refusing duplicate member names in either. Throws {@link InvalidTokenError}.
 */
export function parseCompactJws(token: string): ParsedJws {
  const parts = token.split(".");
  if (parts.length !== 3) throw new InvalidTokenError("token is not a compact JWS");
  for (const part of parts) {
    if (!SEGMENT.test(part) || !isCanonicalLength(part)) throw new InvalidTokenError("token is not strict base64url");
  }
  const header = decodeJsonSegment(parts[0]!, "header");
  const payload = decodeJsonSegment(parts[1]!, "payload");
  return { header, payload };
}

function isCanonicalLength(segment: string): boolean {
  switch (segment.length % 4) {
    case 0:
      return true;
    case 2:
      return CANONICAL_LAST_2.test(segment);
    case 3:
      return CANONICAL_LAST_3.test(segment);
    default:
      return false;
  }
}

function decodeJsonSegment(segment: string, what: "header" | "payload"): Record<string, unknown> {
  const text = Buffer.from(segment, "base64url").toString("utf8");
  const parsed = parseJsonObjectStrict(text);
  if (parsed === "invalid") throw new InvalidTokenError(`token ${what} is not a JSON object`);
  if (parsed === "duplicate") throw new InvalidTokenError(`token ${what} has a duplicate member`);
  return parsed;
}
