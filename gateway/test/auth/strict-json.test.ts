/**
 * parseJsonObjectStrict on its own. JSON.parse keeps the last of two members with one name, so
 * `{"sub":"alice","sub":"bob"}` reads as bob here and maybe as alice in another parser: such
 * text is refused, at any depth, however the name is spelled with escapes. The scanner must
 * not be fooled by braces, quotes or backslashes inside strings.
 */
import { describe, expect, it } from "vitest";
import { parseJsonObjectStrict } from "../../src/auth/strict-json.ts";

describe("parseJsonObjectStrict returns the object", () => {
  it.each([
    ["for an empty object", "{}", {}],
    ["for an object with whitespace everywhere JSON allows it", ' \n\t{ "a" :\r\n1 , "b":[ ] }\n', { a: 1, b: [] }],
    ["when the same name appears in different nested objects", '{"a":{"x":1},"b":{"x":2}}', { a: { x: 1 }, b: { x: 2 } }],
    ["when a nested object repeats its parent's name", '{"x":{"x":{"x":1}}}', { x: { x: { x: 1 } } }],
    ["for an array of objects with the same names", '{"list":[{"id":1,"v":"a"},{"id":2,"v":"b"}]}', { list: [{ id: 1, v: "a" }, { id: 2, v: "b" }] }],
    ["when a name comes back after a nested object closes", '{"a":{"b":1},"b":2}', { a: { b: 1 }, b: 2 }],
    ["when a name comes back after an array closes", '{"a":[{"b":1},[{"b":2}]],"b":3}', { a: [{ b: 1 }, [{ b: 2 }]], b: 3 }],
    ["for values that repeat a member name", '{"a":"a","b":"a","c":["a","a"]}', { a: "a", b: "a", c: ["a", "a"] }],
    ["for strings holding braces and brackets", '{"a":"}{[","b":"]{\\"a\\":1}"}', { a: "}{[", b: ']{"a":1}' }],
    ["for strings holding escaped quotes", '{"a":"say \\"a\\"","b":"\\""}', { a: 'say "a"', b: '"' }],
    ["for strings ending in a backslash", '{"a":"\\\\","b":"\\\\\\\\"}', { a: "\\", b: "\\\\" }],
    ["for a string that looks like a duplicate member", '{"a":"\\",\\"a\\":2"}', { a: '","a":2' }],
    ["for names that differ only in case", '{"sub":1,"Sub":2,"SUB":3}', { sub: 1, Sub: 2, SUB: 3 }],
    ["for names that differ by an escaped character", '{"sub":1,"s\\u0075b2":2}', { sub: 1, sub2: 2 }],
    ["for an empty name", '{"":1}', { "": 1 }],
    ["for names with escaped quotes and backslashes", '{"a\\"b":1,"a\\\\b":2}', { 'a"b': 1, "a\\b": 2 }],
    ["for commas inside nested arrays", '{"a":[1,2,[3,4]],"b":{"c":[5,6]}}', { a: [1, 2, [3, 4]], b: { c: [5, 6] } }],
    ["for numbers, booleans and null", '{"n":-1.5e3,"t":true,"f":false,"z":null}', { n: -1500, t: true, f: false, z: null }],
    ["for non-ASCII names and values", '{"prénom":"josé","😀":"\\ud83d\\ude00"}', { prénom: "josé", "😀": "😀" }],
  ])("%s", (_behaviour, text, value) => {
    expect(parseJsonObjectStrict(text)).toEqual(value);
  });

  it("keeps a __proto__ member as data", () => {
    const parsed = parseJsonObjectStrict('{"__proto__":{"admin":true},"sub":"alice"}');
    expect(parsed).not.toBe("invalid");
    expect(parsed).not.toBe("duplicate");
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect((parsed as Record<string, unknown>).admin).toBeUndefined();
  });
});

describe("parseJsonObjectStrict refuses", () => {
  it.each([
    ["empty text", ""],
    ["whitespace", "  "],
    ["an unclosed object", '{"a":1'],
    ["a trailing comma", '{"a":1,}'],
    ["single quotes", "{'a':1}"],
    ["an unquoted name", "{a:1}"],
    ["a comment", '{"a":1 /* x */}'],
    ["two objects", '{"a":1}{"a":2}'],
    ["text after the object", '{"a":1} x'],
    ["a byte-order mark", '\uFEFF{"a":1}'],
    ["NaN", '{"a":NaN}'],
    ["an array", '[{"a":1}]'],
    ["an empty array", "[]"],
    ["null", "null"],
    ["a number", "42"],
    ["a string", '"{}"'],
    ["true", "true"],
  ])("%s as invalid", (_behaviour, text) => {
    expect(parseJsonObjectStrict(text)).toBe("invalid");
  });

  it.each([
    ["a name twice at the top level", '{"sub":"alice","sub":"bob"}'],
    ["a name twice with the same value", '{"a":1,"a":1}'],
    ["a name twice, far apart", `{"a":0,${Array.from({ length: 100 }, (_, i) => `"k${i}":${i}`).join(",")},"a":1}`],
    ["a name twice around a nested object", '{"a":1,"b":{"c":{"d":2}},"a":3}'],
    ["a name twice around an array of objects", '{"a":1,"b":[{"a":2},{"a":3}],"a":4}'],
    ["a name twice in a nested object", '{"a":{"b":1,"b":2}}'],
    ["a name twice deep down", '{"a":{"b":{"c":{"d":1,"d":2}}}}'],
    ["a name twice in an object inside an array", '{"list":[{"id":1},{"id":2,"id":3}]}'],
    ["a name twice in an object inside nested arrays", '{"a":[[[{"x":1,"x":2}]]]}'],
    ["a name spelled once plainly and once with a \\u escape", '{"sub":"alice","\\u0073ub":"bob"}'],
    ["a name spelled with escapes both times", '{"\\u0073ub":"alice","s\\u0075b":"bob"}'],
    ["a name spelled entirely in \\u escapes, after look-alikes in other cases", '{"sub":"alice","\\u0053ub":"x","su\\u0042":"y","\\u0073\\u0075\\u0062":"bob"}'],
    ["a name with an escaped slash", '{"a/b":1,"a\\/b":2}'],
    ["an empty name twice", '{"":1,"":2}'],
    ["a name with an escaped quote twice", '{"a\\"b":1,"a\\u0022b":2}'],
    ["a duplicate after a string full of braces and quotes", '{"a":"}\\"{[\\\\","b":1,"a":2}'],
    ["a duplicate after a string ending in a backslash", '{"a":"\\\\","a":2}'],
    ["a duplicate with whitespace around the names", '{ "a" : 1 ,\n "a" : 2 }'],
    ["a non-ASCII name twice", '{"josé":1,"jos\\u00e9":2}'],
  ])("%s as a duplicate", (_behaviour, text) => {
    expect(parseJsonObjectStrict(text)).toBe("duplicate");
  });

  it("refuses invalid JSON before it looks for duplicates", () => {
    expect(parseJsonObjectStrict('{"a":1,"a":2')).toBe("invalid");
  });
});
