/**
 * The claim rules on their own. isHeaderSafeClaim: a value the gateway puts in a header for an
 * upstream (X-User-Id, mapped claims) must read the same after any trimming, and hold nothing
 * that can split or smuggle a header. checkNumericDates: `exp`, `nbf` and `iat` must be finite
 * numbers; JSON's `1e400` is Infinity, which passes every comparison jose makes. The same
 * tokens over sockets are in security/claims.test.ts.
 */
import { describe, expect, it } from "vitest";
import { checkNumericDates, isHeaderSafeClaim } from "../../src/auth/claims.ts";
import { InvalidTokenError } from "../../src/errors.ts";

describe("isHeaderSafeClaim", () => {
  it.each([
    ["a plain name", "alice"],
    ["a single character", "a"],
    ["a UUID", "2f1c6e0a-9b7d-4f3e-8a21-5c6d7e8f9a0b"],
    ["inner spaces", "alice smith"],
    ["several inner spaces", "a   b"],
    ["every visible ASCII character", Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join("")],
  ])("accepts %s", (_behaviour, value) => {
    expect(isHeaderSafeClaim(value)).toBe(true);
  });

  it.each([
    ["an empty string", ""],
    ["a lone space", " "],
    ["an inner tab (some upstreams fold it)", "alice\tsmith"],
    ["Latin-1 letters (obs-text: an upstream reading UTF-8 sees other characters)", "josé"],
    ["the top of Latin-1", "\u00ff"],
    ["the bottom of obs-text", "a\u0080b"],
    ["a leading space", " alice"],
    ["a trailing space", "alice "],
    ["a leading tab", "\talice"],
    ["a trailing tab", "alice\t"],
    ["a line feed", "alice\nX-Admin: true"],
    ["a carriage return", "alice\r"],
    ["CR LF", "alice\r\nX-User-Id: bob"],
    ["a NUL", "alice\u0000"],
    ["a vertical tab", "a\u000bb"],
    ["an escape character", "a\u001bb"],
    ["DEL", "alice\u007f"],
    ["a character beyond Latin-1", "alice€"],
    ["CJK text", "日本"],
    ["an emoji", "😀"],
    ["a lone surrogate", "a\ud800"],
    ["a Unicode line separator", "a\u2028b"],
  ])("refuses %s", (_behaviour, value) => {
    expect(isHeaderSafeClaim(value)).toBe(false);
  });
});

describe("isHeaderSafeClaim and trimming upstreams", () => {
  // Its contract: "nothing at either end, so no upstream can read it differently after
  // trimming". JavaScript's trim() removes U+00A0 and Python's str.strip() removes U+00A0 and
  // U+0085: both are refused (only visible ASCII passes).
  it.each([
    ["a trailing no-break space (U+00A0)", "alice\u00a0"],
    ["a leading no-break space (U+00A0)", "\u00a0alice"],
    ["a trailing next-line character (U+0085)", "alice\u0085"],
    ["a leading next-line character (U+0085)", "\u0085alice"],
  ])("refuses %s, which a trimming upstream reads as another value", (_behaviour, value) => {
    expect(isHeaderSafeClaim(value)).toBe(false);
  });
});

describe("checkNumericDates", () => {
  it.each([
    ["no date claims", {}],
    ["integer dates", { exp: 1_800_000_000, nbf: 1_700_000_000, iat: 1_700_000_000 }],
    ["fractional dates", { exp: 1_800_000_000.5, iat: 0.25 }],
    ["zero and negative dates (the verifier judges them)", { exp: 0, nbf: -1 }],
    ["the largest finite number", { exp: Number.MAX_VALUE }],
    ["other claims that are not finite", { sub: "alice", auth_time: Infinity, foo: "x" }],
  ])("accepts %s", (_behaviour, payload) => {
    expect(() => checkNumericDates(payload)).not.toThrow();
  });

  it.each([
    ["exp", "Infinity", Infinity],
    ["exp", "-Infinity", -Infinity],
    ["exp", "NaN", NaN],
    ["exp", "a numeric string", "1800000000"],
    ["exp", "a date string", "2030-01-01T00:00:00Z"],
    ["exp", "null", null],
    ["exp", "a boolean", true],
    ["exp", "an array", [1_800_000_000]],
    ["exp", "an object", { value: 1_800_000_000 }],
    ["nbf", "Infinity", Infinity],
    ["nbf", "-Infinity", -Infinity],
    ["nbf", "a string", "0"],
    ["iat", "NaN", NaN],
    ["iat", "-Infinity", -Infinity],
    ["iat", "a string", "now"],
  ])("refuses %s that is %s", (claim, _behaviour, value) => {
    let error: unknown;
    try {
      checkNumericDates({ [claim]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect(error).toMatchObject({ code: "invalid_token", status: 401, detail: `invalid ${claim} claim` });
  });

  it.each([
    ["exp", '{"exp":1e400}'],
    ["nbf", '{"exp":1800000000,"nbf":-1e400}'],
    ["iat", '{"exp":1800000000,"iat":1e309}'],
  ])("refuses an out-of-range %s as JSON.parse reads it", (claim, json) => {
    expect(() => checkNumericDates(JSON.parse(json) as Record<string, unknown>)).toThrow(new InvalidTokenError(`invalid ${claim} claim`));
  });

  it.each([
    ["exp before nbf and iat", { exp: "x", nbf: "y", iat: "z" }, "invalid exp claim"],
    ["nbf before iat", { exp: 1, nbf: Infinity, iat: "z" }, "invalid nbf claim"],
  ])("reports %s", (_behaviour, payload, detail) => {
    expect(() => checkNumericDates(payload)).toThrow(new InvalidTokenError(detail));
  });
});
