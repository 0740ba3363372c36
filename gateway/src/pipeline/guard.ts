import { MalformedTargetError, UnsupportedFramingError } from "../errors.ts";

/**
 * The canonical-target check (docs/behaviour.md §5.3). A request target is accepted only in plain
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
  return { segments };
}

/** Percent-escapes must be well formed and must not hide a separator, a control or a dot segment. */
function checkEncodedSegment(segment: string): void {
  let index = segment.indexOf("%");
  if (index === -1) return;
  const dotsOnly = segment.replace(/%2e/gi, ".");
  if (dotsOnly === "." || dotsOnly === "..") throw new MalformedTargetError("the path contains a dot segment");
  while (index !== -1) {
    const hex = segment.slice(index + 1, index + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new MalformedTargetError("the path contains a malformed percent-escape");
    const byte = Number.parseInt(hex, 16);
    if (byte === 0x2f || byte === 0x5c) throw new MalformedTargetError("the path contains an encoded slash or backslash");
    if (byte < 0x20 || byte === 0x7f) throw new MalformedTargetError("the path contains an encoded control character");
    if (byte === 0x3b) throw new MalformedTargetError("the path contains an encoded semicolon");
    index = segment.indexOf("%", index + 3);
  }
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

/**
 * RFC 9110 §7.2: `host[:port]`, where host is a DNS-style name (letters, digits, "-", "_", "."),
 * an IPv4 address or a bracketed IPv6 literal. It is passed on as `X-Forwarded-Host`, which
 * upstreams build links and redirects from, so nothing else is let through.
 */
const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::(\d{1,5}))?$/;

/**
 * RFC 9112 §3.2: an HTTP/1.1 request must carry exactly one valid Host. A second Host could
 * route differently at the upstream than at the gateway, so it is refused, not picked from.
 */
/** True for a plain `host[:port]` (the rule Host is held to, and X-Forwarded-Host from a trusted proxy). */
export function isPlainHost(value: string): boolean {
  const valid = HOST.exec(value);
  return valid !== null && (valid[1] === undefined || Number(valid[1]) <= 65_535);
}

export function guardHost(rawHeaders: readonly string[], httpVersionMinor: number): void {
  let host: string | undefined;
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 4 && name.toLowerCase() === "host") {
      count += 1;
      host = rawHeaders[i + 1]!;
    }
  }
  if (count > 1) throw new MalformedTargetError("more than one Host header");
  if (count === 0) {
    if (httpVersionMinor >= 1) throw new MalformedTargetError("an HTTP/1.1 request needs a Host header");
    return;
  }
  if (!isPlainHost(host!)) throw new MalformedTargetError("the Host header is not a valid host");
}

/**
 * RFC 9112 §6.1: the only transfer coding a request may use here is `chunked`, alone. Node's
 * parser also accepts a list ending in chunked (`gzip, chunked`); the gateway would then forward
 * still-coded bytes as if they were the body, so such a request is refused (501).
 */
export function guardFraming(transferEncoding: string | undefined): void {
  if (transferEncoding === undefined || transferEncoding === "chunked") return;
  if (transferEncoding.trim().toLowerCase() !== "chunked") throw new UnsupportedFramingError("the only transfer coding accepted is chunked");
}
