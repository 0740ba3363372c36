import { describe, expect, it } from "vitest";
import {
  BodyDecodeError, JsonDecodeError, PyFloat, UnencodableValueError, dumps, floatRepr, loads, loadsBytes,
} from "../src/fastapi/python-json.ts";

// The JSON reader and writer that stand in for CPython's json module.
const decodeError = (text: string) => {
  try {
    loads(text);
  } catch (error) {
    if (error instanceof JsonDecodeError) return [error.msg, error.pos];
    throw error;
  }
  throw new Error(`${text} decoded without error`);
};

describe("loads", () => {
  it("reads integers as numbers, big integers as bigint and floats as PyFloat", () => {
    expect(loads("[1, -0, 12345678901234567890, 1.5, 2e3, 1E2]")).toEqual([
      1, -0, 12345678901234567890n, new PyFloat(1.5), new PyFloat(2000), new PyFloat(100),
    ]);
  });

  it("reads objects as Maps in document order, a repeated key keeping its first place and last value", () => {
    const value = loads('{"b": 1, "1": 2, "b": 3}') as Map<string, unknown>;
    expect([...value]).toEqual([["b", 3], ["1", 2]]);
  });

  it("accepts NaN, Infinity and -Infinity as Python does", () => {
    expect(loads("[NaN, Infinity, -Infinity]")).toEqual([new PyFloat(NaN), new PyFloat(Infinity), new PyFloat(-Infinity)]);
  });

  it("reports offsets in code points", () => {
    expect(decodeError('["😀😀", }')).toEqual(["Expecting value", 7]);
  });

  it("stops a number where Python's scanner does", () => {
    expect(decodeError("1.")).toEqual(["Extra data", 1]);
    expect(decodeError("1e")).toEqual(["Extra data", 1]);
    expect(decodeError("-")).toEqual(["Expecting value", 0]);
    expect(decodeError("[1,]")).toEqual(["Expecting value", 3]);
    expect(decodeError("[1 2]")).toEqual(["Expecting ',' delimiter", 3]);
    expect(decodeError("")).toEqual(["Expecting value", 0]);
  });

  it("fails outside JSONDecodeError for nesting past the recursion limit and integers over 4300 digits", () => {
    expect(() => loads("[".repeat(5000))).toThrow(BodyDecodeError);
    expect(() => loads("1".repeat(4301))).toThrow(BodyDecodeError);
    expect(loads("1".repeat(4300))).toBe(BigInt("1".repeat(4300)));
  });
});

describe("loadsBytes", () => {
  it("detects UTF-16 and UTF-32 with or without a byte order mark, as json.detect_encoding does", () => {
    const text = '{"a": "é"}';
    expect(loadsBytes(Buffer.from(text, "utf16le"))).toEqual(new Map([["a", "é"]]));
    expect(loadsBytes(Buffer.from(`\ufeff${text}`, "utf16le"))).toEqual(new Map([["a", "é"]]));
    const utf32le = Buffer.alloc(text.length * 4);
    [...text].forEach((char, i) => utf32le.writeUInt32LE(char.codePointAt(0)!, i * 4));
    expect(loadsBytes(utf32le)).toEqual(new Map([["a", "é"]]));
  });

  it("refuses bytes that are not UTF-8 outside JSONDecodeError", () => {
    expect(() => loadsBytes(Uint8Array.from([0x22, 0xc3, 0x22]))).toThrow(BodyDecodeError);
  });
});

describe("dumps", () => {
  it("writes compact JSON with non-ASCII text as it is", () => {
    expect(dumps({ detail: [{ loc: ["body", 3], input: new Map([["t", "é\n"]]) }] })).toBe('{"detail":[{"loc":["body",3],"input":{"t":"é\\n"}}]}');
  });

  it("refuses NaN, infinities and lone surrogates, as Python's encoder fails on them", () => {
    expect(() => dumps(new PyFloat(NaN))).toThrow(UnencodableValueError);
    expect(() => dumps(new PyFloat(-Infinity))).toThrow(UnencodableValueError);
    expect(() => dumps("\ud800")).toThrow(UnencodableValueError);
  });

  it.each([
    [1, "1.0"], [-0, "-0.0"], [0.1, "0.1"], [1.5e-5, "1.5e-05"], [0.0001, "0.0001"], [1e15, "1000000000000000.0"],
    [1e16, "1e+16"], [1.2345e100, "1.2345e+100"], [123.456, "123.456"],
  ])("writes the float %d as Python's repr %s", (value, repr) => {
    expect(floatRepr(value)).toBe(repr);
  });
});
