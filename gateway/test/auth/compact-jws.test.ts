/**
 * parseCompactJws on its own: the strict shape check every token passes before any signature
 * work. Three segments, strict base64url (no padding, no `+` `/`, canonical trailing bits, so
 * one token has one spelling), JSON objects without duplicate members in header and payload.
 * The same tokens over sockets are in security/tampering.test.ts.
 */
import { describe, expect, it } from "vitest";
import { parseCompactJws } from "../../src/auth/compact-jws.ts";
import { InvalidTokenError } from "../../src/errors.ts";
import { b64url } from "../helpers/tokens.ts";

const HEADER = { alg: "EdDSA", kid: "k1", typ: "JWT" };
const PAYLOAD = { sub: "alice", iss: "http://issuer.test", exp: 1_800_000_000, scope: ["a", "b"], nested: { x: { y: 1 } } };
const SIGNATURE = b64url("a signature of sixty-four bytes, or thereabouts, in base64url!!!");

function token(header: string = b64url(HEADER), payload: string = b64url(PAYLOAD), signature: string = SIGNATURE): string {
  return `${header}.${payload}.${signature}`;
}

/** The base64url alphabet, in value order. */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The same bytes spelled with non-zero unused trailing bits (the last character one value up). */
function nonCanonical(segment: string): string {
  const last = ALPHABET.indexOf(segment.at(-1)!);
  return segment.slice(0, -1) + ALPHABET[last + 1]!;
}

/** A JSON text padded with spaces until its base64url length leaves `leftover` characters. */
function segmentWithLeftover(value: unknown, leftover: 2 | 3): string {
  for (let pad = 0; ; pad++) {
    const segment = b64url(JSON.stringify(value) + " ".repeat(pad));
    if (segment.length % 4 === leftover) return segment;
  }
}

function refusal(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error("expected a refusal, got none");
}

function expectInvalid(value: string, detail: string): void {
  const error = refusal(() => parseCompactJws(value));
  expect(error).toBeInstanceOf(InvalidTokenError);
  expect(error).toMatchObject({ code: "invalid_token", status: 401, detail });
}

describe("parseCompactJws accepts", () => {
  it("a well-formed token, decoding header and payload", () => {
    expect(parseCompactJws(token())).toEqual({ header: HEADER, payload: PAYLOAD });
  });

  it.each([2, 3] as const)("segments with %i characters left over and canonical trailing bits", (leftover) => {
    const header = segmentWithLeftover(HEADER, leftover);
    const payload = segmentWithLeftover(PAYLOAD, leftover);
    const signature = leftover === 2 ? "QQ" : "QUE";
    expect(parseCompactJws(token(header, payload, signature))).toEqual({ header: HEADER, payload: PAYLOAD });
  });

  it.each([
    ["'-' and '_' in a segment", "-_-_"],
    ["a signature that is not valid JSON (it is never decoded here)", b64url("\u0000\u00ff not json")],
  ])("%s", (_behaviour, signature) => {
    expect(parseCompactJws(token(undefined, undefined, signature)).payload).toEqual(PAYLOAD);
  });

  it("the same member name in different objects", () => {
    const payload = b64url('{"sub":"alice","a":{"sub":"x"},"b":[{"sub":"y"},{"sub":"z"}]}');
    expect(parseCompactJws(token(undefined, payload)).payload).toEqual({ sub: "alice", a: { sub: "x" }, b: [{ sub: "y" }, { sub: "z" }] });
  });
});

describe("parseCompactJws refuses", () => {
  it.each([
    ["an empty string", ""],
    ["one segment", "abc"],
    ["two segments", `${b64url(HEADER)}.${b64url(PAYLOAD)}`],
    ["four segments", `${token()}.${SIGNATURE}`],
    ["five segments (a JWE)", `${token()}.${SIGNATURE}.${SIGNATURE}`],
    ["only dots", "...."],
  ])("%s as not a compact JWS", (_behaviour, value) => {
    expectInvalid(value, "token is not a compact JWS");
  });

  it.each([
    ["an empty header", token("")],
    ["an empty payload", token(undefined, "")],
    ["an empty signature (alg none style)", token(undefined, undefined, "")],
    ["padding on the header", token(`${segmentWithLeftover(HEADER, 2)}==`)],
    ["padding on the signature", token(undefined, undefined, "QQ==")],
    ["a single padding character", token(undefined, undefined, "QUE=")],
    ["'+' from the base64 alphabet", token(undefined, undefined, "ab+d")],
    ["'/' from the base64 alphabet", token(undefined, undefined, "ab/d")],
    ["a space inside a segment", token(undefined, undefined, "ab d")],
    ["a line break inside a segment", token(`${b64url(HEADER).slice(0, 4)}\n${b64url(HEADER).slice(4)}`)],
    ["a trailing space", `${token()} `],
    ["non-ASCII in a segment", token(undefined, undefined, "abcé")],
    ["a percent-escape in a segment", token(undefined, undefined, "ab%3D")],
    ["a segment of 4n+1 characters", token(undefined, undefined, "abcde")],
    ["a one-character segment", token(undefined, undefined, "a")],
    ["non-zero trailing bits with two characters left over (QR for QQ)", token(undefined, undefined, "QR")],
    ["non-zero trailing bits with three characters left over (QUF for QUE)", token(undefined, undefined, "QUF")],
    ["non-zero trailing bits in the header", token(nonCanonical(segmentWithLeftover(HEADER, 2)))],
    ["non-zero trailing bits in the payload", token(undefined, nonCanonical(segmentWithLeftover(PAYLOAD, 3)))],
    ["the last possible non-canonical character", token(undefined, undefined, "Q_")],
  ])("%s as not strict base64url", (_behaviour, value) => {
    expectInvalid(value, "token is not strict base64url");
  });

  it("spells the trailing-bit variants it refuses as the same bytes (so they would be one token twice)", () => {
    for (const leftover of [2, 3] as const) {
      const canonical = segmentWithLeftover(PAYLOAD, leftover);
      expect(Buffer.from(nonCanonical(canonical), "base64url")).toEqual(Buffer.from(canonical, "base64url"));
    }
    expect(Buffer.from("QR", "base64url")).toEqual(Buffer.from("QQ", "base64url"));
  });

  it.each([
    ["header", "an array", (s: string) => token(s), "[1,2]"],
    ["header", "null", (s: string) => token(s), "null"],
    ["header", "a number", (s: string) => token(s), "1"],
    ["header", "a string", (s: string) => token(s), '"EdDSA"'],
    ["header", "true", (s: string) => token(s), "true"],
    ["header", "invalid JSON", (s: string) => token(s), '{"alg":"EdDSA"'],
    ["header", "JSON with a trailing comma", (s: string) => token(s), '{"alg":"EdDSA",}'],
    ["header", "JSON after a byte-order mark", (s: string) => token(s), '\uFEFF{"alg":"EdDSA"}'],
    ["header", "bytes that are not text", (s: string) => token(s), "\u0000\u0001\u0002"],
    ["payload", "an array", (s: string) => token(undefined, s), '[{"sub":"alice"}]'],
    ["payload", "null", (s: string) => token(undefined, s), "null"],
    ["payload", "a string", (s: string) => token(undefined, s), '"alice"'],
    ["payload", "invalid JSON", (s: string) => token(undefined, s), "{sub:'alice'}"],
    ["payload", "two JSON objects", (s: string) => token(undefined, s), '{"sub":"a"}{"sub":"b"}'],
  ])("a %s that is %s", (what, _behaviour, build, text) => {
    expectInvalid(build(b64url(text)), `token ${what} is not a JSON object`);
  });

  it("a header that is not UTF-8 and so not JSON", () => {
    expectInvalid(token(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString("base64url")), "token header is not a JSON object");
  });

  it.each([
    ["header", "alg twice", '{"alg":"EdDSA","alg":"none"}'],
    ["header", "kid twice with the same value", '{"alg":"EdDSA","kid":"k1","kid":"k1"}'],
    ["header", "a name hidden by an escape", '{"alg":"EdDSA","\\u0061lg":"none"}'],
    ["header", "a duplicate inside an embedded jwk", '{"alg":"EdDSA","jwk":{"kty":"OKP","kty":"oct"}}'],
    ["payload", "sub twice", '{"sub":"alice","sub":"bob"}'],
    ["payload", "sub hidden by an escape", '{"sub":"alice","\\u0073ub":"bob"}'],
    ["payload", "exp twice, far apart", `{"exp":1,${Array.from({ length: 50 }, (_, i) => `"c${i}":${i}`).join(",")},"exp":9999999999}`],
    ["payload", "a duplicate in a nested object", '{"sub":"alice","org":{"id":"a","id":"b"}}'],
  ])("a %s with %s", (what, _behaviour, text) => {
    const value = what === "header" ? token(b64url(text)) : token(undefined, b64url(text));
    expectInvalid(value, `token ${what} has a duplicate member`);
  });

  it.each([
    ["the segment count before anything else", `${b64url("[]")}.x=`, "token is not a compact JWS"],
    ["every segment's encoding before decoding any", token(b64url("[]"), undefined, "QR"), "token is not strict base64url"],
    ["the header before the payload", token(b64url('{"a":1,"a":2}'), b64url("[]")), "token header has a duplicate member"],
    ["the payload after a good header", token(undefined, b64url('{"a":1,"a":2}')), "token payload has a duplicate member"],
  ])("checks %s", (_behaviour, value, detail) => {
    expectInvalid(value, detail);
  });
});
