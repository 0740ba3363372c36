/**
 * JSON as CPython 3.12's `json` module reads and writes it, because FastAPI's answers carry
 * Python's own wording: a `json_invalid` error names the decoder's message and the character
 * offset (`loc: ["body", 9]`, `ctx.error: "Expecting value"`), and an echoed `input` keeps
 * Python's number forms (`1.0`, `1e+16`, integers of any size).
 *
 * Values: `null`, booleans, strings, integers as `number` (or `bigint` beyond 2^53), floats as
 * {@link PyFloat}, arrays, and objects as `Map` (Python dicts keep key order; JS objects put
 * integer-like keys first).
 */
export type PyValue = null | boolean | string | number | bigint | PyFloat | PyValue[] | PyDict;
export type PyDict = Map<string, PyValue>;

/** A Python `float`: kept apart from integers so `1.0` is echoed as `1.0`, not `1`. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** `json.JSONDecodeError`: FastAPI turns it into a 422 `json_invalid` error. */
export class JsonDecodeError extends Error {
  constructor(
    /** The unformatted message, e.g. `Expecting ',' delimiter`. */
    readonly msg: string,
    /** Offset in code points (Python string indices). */
    readonly pos: number,
  ) {
    super(`${msg}: char ${pos}`);
    this.name = "JsonDecodeError";
  }
}

/**
 * Any other failure of `json.loads` (undecodable bytes, nesting past the recursion limit, an
 * integer over 4300 digits): FastAPI answers those with 400 "There was an error parsing the body".
 */
export class BodyDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BodyDecodeError";
  }
}

/** Python's `json.dumps` refuses NaN and infinities (`allow_nan=False`); FastAPI then fails with 500. */
export class UnencodableValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnencodableValueError";
  }
}

// CPython's C scanner calls Py_EnterRecursiveCall per nested container; the exact ceiling depends
// on the stack in use, this is its order of magnitude.
const MAX_DEPTH = 1000;
// sys.int_info.default_max_str_digits (CPython >= 3.11).
const MAX_INT_DIGITS = 4300;

/** `json.loads(body_bytes)`, as Starlette's `Request.json()` calls it. */
export function loadsBytes(bytes: Uint8Array): PyValue {
  return loads(decodeBytes(bytes));
}

/** `json.loads(text)` on an already decoded string. */
export function loads(text: string): PyValue {
  try {
    return new Scanner(text).document();
  } catch (error) {
    if (error instanceof PositionedError) throw new JsonDecodeError(error.msg, codePointOffset(text, error.index));
    throw error;
  }
}

/** `json.detect_encoding` followed by `bytes.decode(encoding, "surrogatepass")`. */
function decodeBytes(b: Uint8Array): string {
  const startsWith = (...prefix: number[]) => prefix.every((byte, i) => b[i] === byte);
  if (startsWith(0x00, 0x00, 0xfe, 0xff)) return decodeUtf32(b.subarray(4), false);
  if (startsWith(0xff, 0xfe, 0x00, 0x00)) return decodeUtf32(b.subarray(4), true);
  if (startsWith(0xfe, 0xff)) return decodeUtf16(b.subarray(2), false);
  if (startsWith(0xff, 0xfe)) return decodeUtf16(b.subarray(2), true);
  if (startsWith(0xef, 0xbb, 0xbf)) return decodeUtf8(b.subarray(3));
  if (b.length >= 4) {
    if (!b[0]) return b[1] ? decodeUtf16(b, false) : decodeUtf32(b, false);
    if (!b[1]) return b[2] || b[3] ? decodeUtf16(b, true) : decodeUtf32(b, true);
  } else if (b.length === 2) {
    if (!b[0]) return decodeUtf16(b, false);
    if (!b[1]) return decodeUtf16(b, true);
  }
  return decodeUtf8(b);
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decodeUtf8(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new BodyDecodeError("'utf-8' codec can't decode the body");
  }
}

function decodeUtf16(b: Uint8Array, littleEndian: boolean): string {
  if (b.length % 2 !== 0) throw new BodyDecodeError("'utf-16' codec can't decode the body: truncated data");
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let out = "";
  for (let i = 0; i < b.length; i += 2) out += String.fromCharCode(view.getUint16(i, littleEndian));
  return out;
}

function decodeUtf32(b: Uint8Array, littleEndian: boolean): string {
  if (b.length % 4 !== 0) throw new BodyDecodeError("'utf-32' codec can't decode the body: truncated data");
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let out = "";
  for (let i = 0; i < b.length; i += 4) {
    const codePoint = view.getUint32(i, littleEndian);
    if (codePoint > 0x10ffff) throw new BodyDecodeError("'utf-32' codec can't decode the body: code point not in range");
    out += String.fromCodePoint(codePoint);
  }
  return out;
}

/** Python indexes strings by code point; JS by UTF-16 unit. */
function codePointOffset(text: string, index: number): number {
  let count = 0;
  for (let i = 0; i < index; i++) {
    const unit = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff && i + 1 < index) i++;
    count++;
  }
  return count;
}

class PositionedError extends Error {
  constructor(
    readonly msg: string,
    readonly index: number,
  ) {
    super(msg);
  }
}

const isWhitespace = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\r";
const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

/** A transcription of CPython's `Modules/_json.c` scanner (3.12), error messages and offsets included. */
class Scanner {
  private depth = 0;

  constructor(private readonly s: string) {}

  document(): PyValue {
    const [value, end] = this.value(this.skip(0));
    const rest = this.skip(end);
    if (rest !== this.s.length) throw new PositionedError("Extra data", rest);
    return value;
  }

  private skip(index: number): number {
    while (isWhitespace(this.s[index])) index++;
    return index;
  }

  private value(idx: number): [PyValue, number] {
    const s = this.s;
    // A StopIteration in the C scanner, reported by json.decoder as "Expecting value".
    if (idx >= s.length) throw new PositionedError("Expecting value", idx);
    switch (s[idx]) {
      case '"':
        return this.string(idx + 1);
      case "{":
        return this.nested(() => this.object(idx + 1));
      case "[":
        return this.nested(() => this.array(idx + 1));
      case "n":
        if (s.startsWith("null", idx)) return [null, idx + 4];
        break;
      case "t":
        if (s.startsWith("true", idx)) return [true, idx + 4];
        break;
      case "f":
        if (s.startsWith("false", idx)) return [false, idx + 5];
        break;
      case "N":
        if (s.startsWith("NaN", idx)) return [new PyFloat(NaN), idx + 3];
        break;
      case "I":
        if (s.startsWith("Infinity", idx)) return [new PyFloat(Infinity), idx + 8];
        break;
      case "-":
        if (s.startsWith("-Infinity", idx)) return [new PyFloat(-Infinity), idx + 9];
        break;
    }
    return this.number(idx);
  }

  private nested(parse: () => [PyValue, number]): [PyValue, number] {
    if (++this.depth > MAX_DEPTH) throw new BodyDecodeError("maximum recursion depth exceeded while decoding a JSON document");
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private number(start: number): [PyValue, number] {
    const s = this.s;
    const last = s.length - 1;
    let idx = start;
    if (s[idx] === "-") {
      idx++;
      if (idx > last) throw new PositionedError("Expecting value", start);
    }
    if (s[idx]! >= "1" && s[idx]! <= "9") {
      idx++;
      while (idx <= last && isDigit(s[idx])) idx++;
    } else if (s[idx] === "0") {
      idx++;
    } else {
      throw new PositionedError("Expecting value", start);
    }
    let isFloat = false;
    if (idx < last && s[idx] === "." && isDigit(s[idx + 1])) {
      isFloat = true;
      idx += 2;
      while (idx <= last && isDigit(s[idx])) idx++;
    }
    if (idx < last && (s[idx] === "e" || s[idx] === "E")) {
      const exponentStart = idx;
      idx++;
      if (idx < last && (s[idx] === "-" || s[idx] === "+")) idx++;
      while (idx <= last && isDigit(s[idx])) idx++;
      if (isDigit(s[idx - 1])) isFloat = true;
      else idx = exponentStart;
    }
    const text = s.slice(start, idx);
    if (isFloat) return [new PyFloat(Number(text)), idx];
    if (text.replace("-", "").length > MAX_INT_DIGITS) {
      throw new BodyDecodeError(`Exceeds the limit (${MAX_INT_DIGITS} digits) for integer string conversion`);
    }
    const asNumber = Number(text);
    return [Number.isSafeInteger(asNumber) ? asNumber : BigInt(text), idx];
  }

  /** `scanstring`: `end` is just past the opening quote. */
  private string(end: number): [string, number] {
    const s = this.s;
    const begin = end - 1;
    let out = "";
    for (;;) {
      let next = end;
      let c = "";
      for (; next < s.length; next++) {
        c = s[next]!;
        if (c === '"' || c === "\\") break;
        if (c.charCodeAt(0) <= 0x1f) throw new PositionedError("Invalid control character at", next);
      }
      if (next >= s.length) throw new PositionedError("Unterminated string starting at", begin);
      out += s.slice(end, next);
      next++;
      if (c === '"') return [out, next];
      if (next === s.length) throw new PositionedError("Unterminated string starting at", begin);
      const escape = s[next]!;
      if (escape !== "u") {
        end = next + 1;
        const decoded = ESCAPES[escape];
        if (decoded === undefined) throw new PositionedError("Invalid \\escape", end - 2);
        out += decoded;
        continue;
      }
      next++;
      end = next + 4;
      if (end >= s.length) throw new PositionedError("Invalid \\uXXXX escape", next - 1);
      const unit = this.hex4(next);
      // A high surrogate followed by a low one is joined; anything else stays as it is.
      if (unit >= 0xd800 && unit <= 0xdbff && end + 6 < s.length && s[end] === "\\" && s[end + 1] === "u") {
        const low = this.hex4(end + 2);
        if (low >= 0xdc00 && low <= 0xdfff) {
          out += String.fromCharCode(unit, low);
          end += 6;
          continue;
        }
      }
      out += String.fromCharCode(unit);
    }
  }

  private hex4(at: number): number {
    const digits = this.s.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) throw new PositionedError("Invalid \\uXXXX escape", at - 1);
    return parseInt(digits, 16);
  }

  private object(start: number): [PyDict, number] {
    const s = this.s;
    const dict: PyDict = new Map();
    let idx = this.skip(start);
    if (s[idx] !== "}") {
      for (;;) {
        if (s[idx] !== '"') throw new PositionedError("Expecting property name enclosed in double quotes", idx);
        const [key, afterKey] = this.string(idx + 1);
        idx = this.skip(afterKey);
        if (s[idx] !== ":") throw new PositionedError("Expecting ':' delimiter", idx);
        const [value, afterValue] = this.value(this.skip(idx + 1));
        // A repeated key keeps its first position and takes the last value, as a dict does.
        dict.set(key, value);
        idx = this.skip(afterValue);
        if (s[idx] === "}") break;
        if (s[idx] !== ",") throw new PositionedError("Expecting ',' delimiter", idx);
        idx = this.skip(idx + 1);
      }
    }
    return [dict, idx + 1];
  }

  private array(start: number): [PyValue[], number] {
    const s = this.s;
    const list: PyValue[] = [];
    let idx = this.skip(start);
    if (s[idx] !== "]") {
      for (;;) {
        const [value, afterValue] = this.value(idx);
        list.push(value);
        idx = this.skip(afterValue);
        if (s[idx] === "]") break;
        if (s[idx] !== ",") throw new PositionedError("Expecting ',' delimiter", idx);
        idx = this.skip(idx + 1);
      }
    }
    return [list, idx + 1];
  }
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when Python could encode the string as UTF-8 (no lone surrogate). */
export function isEncodable(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/**
 * `json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))`, as Starlette's
 * JSONResponse renders. Plain objects are written in insertion order; a JS `number` must be an
 * integer (floats are {@link PyFloat}).
 */
export function dumps(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string") {
    // Python would write the surrogate, then fail encoding the body as UTF-8.
    if (!isEncodable(value)) throw new UnencodableValueError("surrogates not allowed");
    return JSON.stringify(value);
  }
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new TypeError(`dumps: ${value} is not an integer; wrap floats in PyFloat`);
    return String(value);
  }
  if (value instanceof PyFloat) return floatRepr(value.value);
  if (Array.isArray(value)) return `[${value.map(dumps).join(",")}]`;
  if (value instanceof Map) {
    return `{${[...value].map(([key, item]) => `${dumps(String(key))}:${dumps(item)}`).join(",")}}`;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    return `{${entries.map(([key, item]) => `${dumps(key)}:${dumps(item)}`).join(",")}}`;
  }
  throw new TypeError(`dumps: cannot encode ${typeof value}`);
}

/** `float.__repr__`: shortest round-trip digits, exponent outside [1e-4, 1e16), always a `.0` or an exponent. */
export function floatRepr(x: number): string {
  if (!Number.isFinite(x)) throw new UnencodableValueError(`Out of range float values are not JSON compliant: ${x}`);
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, exponentText] = x.toExponential().split("e") as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const fixed = String(x);
  return fixed.includes(".") ? fixed : `${fixed}.0`;
}
