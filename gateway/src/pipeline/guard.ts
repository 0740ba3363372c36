import { MalformedTargetError } from "../errors.ts";

/**
 * The canonical-target check (CONTRACT §5). A request target is accepted only in plain
 * origin-form; anything an upstream might normalize differently from us is refused, never
 * rewritten, so the path we authorize is the path the upstream sees.
 */

// RFC 3986 pchar minus ";" (a path parameter some servers strip) plus "/" and "%" (checked
// below). Anything else raw in a path (controls, space, "\", "#", non-ASCII, braces, ...) is refused.
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,=:@/%]*$/;
// Same set for the query, which may also hold "?" and "/", but not "#".
const PLAIN_QUERY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%[\]|^`{}"<>\\]*$/;
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

export interface Target {
  /** The path exactly as received, without the query. */
  readonly path: string;
  /** Path segments as received (still percent-encoded); `segments[0]` follows the first "/". */
  readonly segments: readonly string[];
}

/** Checks the raw request target and splits it; throws {@link MalformedTargetError}. */
export function guardTarget(rawTarget: string): Target {
  if (rawTarget.charCodeAt(0) !== 47 /* "/" */) {
    throw new MalformedTargetError("only origin-form request targets are accepted");
  }
  const queryAt = rawTarget.indexOf("?");
  const path = queryAt === -1 ? rawTarget : rawTarget.slice(0, queryAt);
  if (queryAt !== -1 && !PLAIN_QUERY.test(rawTarget.slice(queryAt + 1))) {
    throw new MalformedTargetError("the query contains characters that must be percent-encoded");
  }
  if (!PLAIN_PATH.test(path)) {
    throw new MalformedTargetError("the path contains characters that must be percent-encoded");
  }
  if (path.includes("//")) throw new MalformedTargetError("the path contains an empty segment");
  if (DOT_SEGMENT.test(path)) throw new MalformedTargetError("the path contains a dot segment");
  const segments = path.slice(1).split("/");
  if (path.includes("%")) {
    for (const segment of segments) checkEncodedSegment(segment);
  }
  return { path, segments };
}

/** Percent-escapes must be well formed and must not hide a separator, a control or a dot segment. */
function checkEncodedSegment(segment: string): void {
  let index = segment.indexOf("%");
  if (index === -1) return;
  while (index !== -1) {
    const hex = segment.slice(index + 1, index + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new MalformedTargetError("the path contains a malformed percent-escape");
    const byte = Number.parseInt(hex, 16);
    if (byte === 0x2f || byte === 0x5c) throw new MalformedTargetError("the path contains an encoded slash or backslash");
    if (byte < 0x20 || byte === 0x7f) throw new MalformedTargetError("the path contains an encoded control character");
    if (byte === 0x3b) throw new MalformedTargetError("the path contains an encoded semicolon");
    index = segment.indexOf("%", index + 3);
  }
  const dotsOnly = segment.replace(/%2e/gi, ".");
  if (dotsOnly === "." || dotsOnly === "..") throw new MalformedTargetError("the path contains a dot segment");
}

/**
 * Decodes one path segment for comparison with a claim. The guard has already refused encoded
 * separators and controls; invalid UTF-8 is refused here.
 */
export function decodeSegment(segment: string): string {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new MalformedTargetError("the path contains a percent-escape that is not UTF-8");
  }
}
