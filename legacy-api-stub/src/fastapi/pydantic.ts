import { RequestValidationError, type ValidationIssue } from "./exceptions.ts";
import { PyFloat, type PyDict, type PyValue } from "./python-json.ts";

/**
 * The few pydantic v2 (lax mode) checks the task API uses, with pydantic's error types, messages
 * and `ctx` exactly: https://docs.pydantic.dev/latest/errors/validation_errors/
 */
export type Loc = readonly (string | number)[];
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly ValidationIssue[] };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (...issues: ValidationIssue[]): Parsed<never> => ({ ok: false, issues });

/**
 * Returns every parsed value, or throws one {@link RequestValidationError} listing the issues of
 * all of them in order, as FastAPI reports path, then query, then body errors together.
 */
export function valid<const T extends readonly Parsed<unknown>[]>(
  ...results: T
): { [K in keyof T]: T[K] extends Parsed<infer V> ? V : never } {
  const issues = results.flatMap((result) => (result.ok ? [] : result.issues));
  if (issues.length > 0) throw new RequestValidationError(issues);
  return results.map((result) => (result as { value: unknown }).value) as never;
}

export function missing(loc: Loc, input: PyValue): ValidationIssue {
  return { type: "missing", loc, msg: "Field required", input };
}

const plural = (n: number) => (n === 1 ? "" : "s");

/**
 * `str` with `min_length` / `max_length`; numbers, booleans and `null` are not coerced
 * (`string_type`). Lengths count code points, as Python's `len` does.
 */
export function parseString(input: PyValue, loc: Loc, limits: { min?: number; max?: number } = {}): Parsed<string> {
  if (typeof input !== "string") return fail({ type: "string_type", loc, msg: "Input should be a valid string", input });
  const length = [...input].length;
  const { min, max } = limits;
  if (min !== undefined && length < min) {
    return fail({
      type: "string_too_short", loc, msg: `String should have at least ${min} character${plural(min)}`, input, ctx: { min_length: min },
    });
  }
  if (max !== undefined && length > max) {
    return fail({
      type: "string_too_long", loc, msg: `String should have at most ${max} character${plural(max)}`, input, ctx: { max_length: max },
    });
  }
  return ok(input);
}

/** `Optional[str]`: `null` passes, anything else is checked as {@link parseString}. */
export function parseOptionalString(input: PyValue, loc: Loc, limits: { min?: number; max?: number } = {}): Parsed<string | null> {
  return input === null ? ok(null) : parseString(input, loc, limits);
}

/**
 * `bool` in lax mode, on a value `json.loads` produced: `true` / `false`; the strings `0`, `f`,
 * `n`, `no`, `off`, `false` and `1`, `t`, `y`, `on`, `yes`, `true` (ASCII case ignored, no
 * trimming); the integers 0 and 1 and the floats 0.0 and 1.0 (pydantic-core's `str_as_bool`,
 * `int_as_bool`, `float_as_int`). Another string or whole number is `bool_parsing`; anything
 * else (`null`, lists, objects, `1.5`, `NaN`, integers beyond 64 bits) is `bool_type`.
 */
export function parseBool(input: PyValue, loc: Loc): Parsed<boolean> {
  if (typeof input === "boolean") return ok(input);
  const parsing = () => fail({ type: "bool_parsing", loc, msg: "Input should be a valid boolean, unable to interpret input", input });
  const notBool = () => fail({ type: "bool_type", loc, msg: "Input should be a valid boolean", input });
  if (typeof input === "string") {
    if (input === "0" || (isAscii(input) && BOOL_FALSE_WORDS.has(input.toLowerCase()))) return ok(false);
    if (input === "1" || (isAscii(input) && BOOL_TRUE_WORDS.has(input.toLowerCase()))) return ok(true);
    return parsing();
  }
  if (typeof input === "number") return input === 0 || input === 1 ? ok(input === 1) : parsing();
  if (typeof input === "bigint") return input >= I64_MIN && input <= I64_MAX ? parsing() : notBool();
  if (input instanceof PyFloat) {
    const x = input.value;
    // float_as_int: finite, whole and strictly inside the i64 range, else the bool check gives up.
    if (!Number.isFinite(x) || x % 1 !== 0 || !(x > -(2 ** 63) && x < 2 ** 63)) return notBool();
    return x === 0 || x === 1 ? ok(x === 1) : parsing();
  }
  return notBool();
}

/** `Optional[bool]`: `null` passes as `None`, anything else is checked as {@link parseBool}. */
export function parseOptionalBool(input: PyValue, loc: Loc): Parsed<boolean | null> {
  return input === null ? ok(null) : parseBool(input, loc);
}

const BOOL_FALSE_WORDS = new Set(["f", "n", "no", "off", "false"]);
const BOOL_TRUE_WORDS = new Set(["t", "y", "on", "yes", "true"]);
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
// Rust's eq_ignore_ascii_case folds ASCII letters only: "ſ" (U+017F) lower-cases to "s" in JS,
// "K" (U+212A, Kelvin) to "k"; neither is a word pydantic knows.
const isAscii = (text: string) => [...text].every((char) => char.charCodeAt(0) < 0x80);

/** `Literal[...]` on a string parameter (`literal_error`). */
export function parseLiteral<const T extends string>(input: string, loc: Loc, allowed: readonly T[]): Parsed<T> {
  if ((allowed as readonly string[]).includes(input)) return ok(input as T);
  const quoted = allowed.map((value) => `'${value}'`);
  const expected = quoted.length > 1 ? `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}` : quoted.join("");
  return fail({ type: "literal_error", loc, msg: `Input should be ${expected}`, input, ctx: { expected } });
}

/**
 * `int` from a path or query string, as pydantic-core's `str_as_int` reads it: a JSON integer,
 * else the same after trimming whitespace, a `+`, leading zeros, a `.0…` fraction and
 * single underscores between digits (`" +0_42.00 "` is 42). Beyond 2^53 the value is approximate,
 * which only matters for looking it up, where no such id exists.
 */
export function parseIntString(input: string, loc: Loc): Parsed<number> {
  if (JSON_INT.test(input)) {
    if (input.replace("-", "").length > MAX_INT_DIGITS) {
      return fail({ type: "int_parsing_size", loc, msg: "Unable to parse input string as an integer, exceeded maximum size", input });
    }
    return ok(Number(input));
  }
  const cleaned = cleanIntString(input);
  if (cleaned !== undefined && JSON_INT.test(cleaned) && cleaned.replace("-", "").length <= MAX_INT_DIGITS) return ok(Number(cleaned));
  return fail({ type: "int_parsing", loc, msg: "Input should be a valid integer, unable to parse string as an integer", input });
}

/**
 * The body of a route that takes one model: FastAPI hands pydantic `None` for an empty body,
 * the decoded JSON, or the raw bytes when the content type is not JSON.
 */
export function parseModelInput(body: PyValue | Uint8Array, loc: Loc): Parsed<PyDict> {
  if (body === null) return fail(missing(loc, null));
  if (body instanceof Map) return ok(body);
  return fail({ type: "model_attributes_type", loc, msg: "Input should be a valid dictionary or object to extract fields from", input: body });
}

const JSON_INT = /^-?(?:0|[1-9][0-9]*)$/;
const MAX_INT_DIGITS = 4300;
// Rust's char::is_whitespace (Unicode White_Space), which `str::trim` uses.
const RUST_WHITESPACE = "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const TRIM = new RegExp(`^[${RUST_WHITESPACE}]+|[${RUST_WHITESPACE}]+$`, "g");

/** pydantic-core's `clean_int_str`; `undefined` where it gives up. */
function cleanIntString(raw: string): string | undefined {
  let s = raw.replace(TRIM, "");
  if (s.startsWith("+")) {
    if (s.startsWith("+-")) return undefined;
    s = s.slice(1);
  }
  let negative = false;
  if (s.startsWith("-")) {
    if (s.startsWith("--") || s.startsWith("-+")) return undefined;
    negative = true;
    s = s.slice(1);
  }
  const stripped = stripLeadingZeros(s);
  if (stripped === undefined) return undefined;
  s = stripped;
  const dot = s.indexOf(".");
  if (dot !== -1 && /^0+$/.test(s.slice(dot + 1))) s = s.slice(0, dot);
  const sign = negative ? "-" : "";
  if (s.includes("_") && !s.startsWith("_") && !s.endsWith("_") && !s.includes("__")) return sign + s.replaceAll("_", "");
  return raw.length === s.length ? undefined : sign + s;
}

function stripLeadingZeros(s: string): string | undefined {
  if (s === "" || !/[0-9-]/.test(s[0]!)) return undefined;
  if (s[0] !== "0") return s;
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === "0" || c === "_") continue;
    if ((c >= "1" && c <= "9") || c === "-") return s.slice(i);
    if (c === ".") return s.slice(i - 1);
    return undefined;
  }
  return s.slice(-1);
}
