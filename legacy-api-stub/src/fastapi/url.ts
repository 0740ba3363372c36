/**
 * The request target as uvicorn and Starlette read it: the path is percent-decoded with
 * `urllib.parse.unquote` before routes are matched (bad escapes stay as they are, bad UTF-8
 * becomes U+FFFD), and the query string is split with `parse_qsl(keep_blank_values=True)`.
 */
export interface RequestTarget {
  /** The path as sent, still percent-encoded. */
  readonly rawPath: string;
  /** What follows the first `?`, without it; empty when there is none. */
  readonly rawQuery: string;
}

/** Splits a request target (`/api/u/tasks?status=all`) into raw path and raw query. */
export function splitTarget(url: string): RequestTarget {
  const withoutFragment = url.split("#", 1)[0]!;
  const mark = withoutFragment.indexOf("?");
  return mark === -1
    ? { rawPath: withoutFragment, rawQuery: "" }
    : { rawPath: withoutFragment.slice(0, mark), rawQuery: withoutFragment.slice(mark + 1) };
}

const lenientUtf8 = new TextDecoder("utf-8");

/** `urllib.parse.unquote(text)` with its defaults (`encoding="utf-8"`, `errors="replace"`). */
export function unquote(text: string): string {
  if (!text.includes("%")) return text;
  let out = "";
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) out += lenientUtf8.decode(Uint8Array.from(bytes));
    bytes = [];
  };
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (text[i] === "%" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code < 0x80) {
      bytes.push(code);
    } else {
      flush();
      out += text[i];
    }
  }
  flush();
  return out;
}

/** Starlette's `QueryParams`: `get` answers the last value sent under a name. */
export class QueryParams {
  private readonly pairs: readonly (readonly [string, string])[];

  constructor(rawQuery: string) {
    this.pairs = parseQsl(rawQuery);
  }

  get(name: string): string | undefined {
    let found: string | undefined;
    for (const [key, value] of this.pairs) if (key === name) found = value;
    return found;
  }
}

/** `urllib.parse.parse_qsl(query, keep_blank_values=True)`: `&` separates, `+` is a space. */
export function parseQsl(query: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const field of query.split("&")) {
    if (field === "") continue;
    const equals = field.indexOf("=");
    const name = equals === -1 ? field : field.slice(0, equals);
    const value = equals === -1 ? "" : field.slice(equals + 1);
    pairs.push([unquote(name.replaceAll("+", " ")), unquote(value.replaceAll("+", " "))]);
  }
  return pairs;
}

// What Starlette's RedirectResponse leaves unescaped in a Location URL.
const LOCATION_SAFE = new Set(":/%#?=@[]!$&'()*+,;");
const UNRESERVED = /[A-Za-z0-9_.~-]/;
const encoder = new TextEncoder();

/** `urllib.parse.quote(url, safe=":/%#?=@[]!$&'()*+,;")`, as RedirectResponse applies to its URL. */
export function quoteLocation(url: string): string {
  let out = "";
  for (const char of url) {
    if (UNRESERVED.test(char) || LOCATION_SAFE.has(char)) {
      out += char;
      continue;
    }
    for (const byte of encoder.encode(char)) out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
