/**
 * The extract stage on its own: the bearer token is read from exactly one Authorization
 * header in Node's raw header list (Node's `req.headers` keeps only the first copy). The same
 * attacks over sockets are in security/authorization-header.test.ts.
 */
import { describe, expect, it } from "vitest";
import { parseCompactJws } from "../../src/auth/compact-jws.ts";
import { InvalidAuthRequestError, InvalidTokenError, MissingTokenError } from "../../src/errors.ts";
import { extractBearerToken } from "../../src/pipeline/extract.ts";
import { b64url } from "../helpers/tokens.ts";

const MAX_TOKEN_BYTES = 64;
const TOKEN = "aaa.bbb.ccc";

function refusal(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error("expected a refusal, got none");
}

describe("extractBearerToken finds the token", () => {
  it.each([
    ["in one Authorization header", ["Authorization", `Bearer ${TOKEN}`], TOKEN],
    ["with the header name in lower case", ["authorization", `Bearer ${TOKEN}`], TOKEN],
    ["with the header name in upper case", ["AUTHORIZATION", `Bearer ${TOKEN}`], TOKEN],
    ["with the scheme in lower case", ["Authorization", `bearer ${TOKEN}`], TOKEN],
    ["with the scheme in upper case", ["Authorization", `BEARER ${TOKEN}`], TOKEN],
    ["with the scheme in mixed case", ["Authorization", `bEaReR ${TOKEN}`], TOKEN],
    ["among other headers", ["Host", "gw", "X-Authorization", "Bearer other", "Authorization", `Bearer ${TOKEN}`, "Accept", "*/*"], TOKEN],
    ["after several spaces", ["Authorization", `Bearer   ${TOKEN}`], TOKEN],
    ["with trailing spaces and tabs trimmed", ["Authorization", `Bearer ${TOKEN} \t `], TOKEN],
    ["with a tab after the separating space", ["Authorization", `Bearer \t${TOKEN}`], TOKEN],
    ["as given, inner spaces included (verification refuses it later)", ["Authorization", "Bearer a b"], "a b"],
    ["of exactly the largest size", ["Authorization", `Bearer ${"x".repeat(MAX_TOKEN_BYTES)}`], "x".repeat(MAX_TOKEN_BYTES)],
  ])("%s", (_behaviour, rawHeaders, token) => {
    expect(extractBearerToken(rawHeaders, MAX_TOKEN_BYTES)).toBe(token);
  });
});

describe("extractBearerToken refuses", () => {
  it.each([
    ["two Authorization headers", ["Authorization", `Bearer ${TOKEN}`, "Authorization", `Bearer ${TOKEN}`]],
    ["two Authorization headers in different cases", ["authorization", `Bearer ${TOKEN}`, "AUTHORIZATION", "Bearer other"]],
    ["a second Authorization header far behind the first", ["Authorization", `Bearer ${TOKEN}`, "Accept", "*/*", "Host", "gw", "aUtHoRiZaTiOn", "Basic eDp5"]],
    ["a second Authorization header that is empty", ["Authorization", `Bearer ${TOKEN}`, "Authorization", ""]],
    ["an empty first Authorization header followed by a token", ["Authorization", "", "Authorization", `Bearer ${TOKEN}`]],
    ["a Basic header next to a Bearer one", ["Authorization", "Basic eDp5", "Authorization", `Bearer ${TOKEN}`]],
  ])("%s with InvalidAuthRequestError", (_behaviour, rawHeaders) => {
    const error = refusal(() => extractBearerToken(rawHeaders, MAX_TOKEN_BYTES));
    expect(error).toBeInstanceOf(InvalidAuthRequestError);
    expect(error).toMatchObject({ code: "invalid_request", status: 400, detail: "more than one Authorization header" });
  });

  it.each([
    ["a request without headers", []],
    ["a request without Authorization", ["Host", "gw", "Accept", "*/*"]],
    ["look-alike header names", ["X-Authorization", `Bearer ${TOKEN}`, "Authorization-Token", `Bearer ${TOKEN}`, "Proxy-Authorization", `Bearer ${TOKEN}`]],
    ["the Basic scheme", ["Authorization", "Basic eDp5"]],
    ["the Token scheme", ["Authorization", `Token ${TOKEN}`]],
    ["a bare token without a scheme", ["Authorization", TOKEN]],
    ["a scheme that only starts with Bearer", ["Authorization", `Bearerx ${TOKEN}`]],
    ["a scheme glued to the token", ["Authorization", `Bearer${TOKEN}`]],
    ["a scheme separated by a tab, not a space", ["Authorization", `Bearer\t${TOKEN}`]],
    ["a leading space before the scheme", ["Authorization", ` Bearer ${TOKEN}`]],
    ["an empty header", ["Authorization", ""]],
  ])("%s with MissingTokenError", (_behaviour, rawHeaders) => {
    const error = refusal(() => extractBearerToken(rawHeaders, MAX_TOKEN_BYTES));
    expect(error).toBeInstanceOf(MissingTokenError);
    expect(error).toMatchObject({ code: "missing_token", status: 401, detail: "a bearer token is required" });
  });

  it.each([
    ["the scheme alone", "Bearer", "empty bearer token"],
    ["the scheme and a space", "Bearer ", "empty bearer token"],
    ["the scheme and only whitespace", "Bearer  \t ", "empty bearer token"],
    ["a token one byte over the limit", `Bearer ${"x".repeat(MAX_TOKEN_BYTES + 1)}`, "token too large"],
    ["a token far over the limit", `Bearer ${"x".repeat(100 * MAX_TOKEN_BYTES)}`, "token too large"],
  ])("%s with InvalidTokenError", (_behaviour, value, detail) => {
    const error = refusal(() => extractBearerToken(["Authorization", value], MAX_TOKEN_BYTES));
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect(error).toMatchObject({ code: "invalid_token", status: 401, detail });
  });

  it("counts a second header before it looks at the first one's scheme", () => {
    const error = refusal(() => extractBearerToken(["Authorization", "Basic eDp5", "Authorization", "Basic eDp5"], MAX_TOKEN_BYTES));
    expect(error).toBeInstanceOf(InvalidAuthRequestError);
  });
});

describe("whitespace that is not HTTP whitespace", () => {
  // docs/behaviour.md §4.1: `Authorization: Bearer <jwt>` where <jwt> has strict base64url segments, and
  // "anything else is an invalid token". Node passes a 0xA0 byte through as U+00A0; JavaScript's
  // trim() removes it, so the gateway verifies one spelling and forwards another.
  const jws = `${b64url({ alg: "EdDSA" })}.${b64url({ sub: "alice" })}.${b64url("signature")}`;
  const read = (value: string) => parseCompactJws(extractBearerToken(["Authorization", value], 4096));

  it("reads the well-formed token (control)", () => {
    expect(read(`Bearer ${jws}`).payload).toEqual({ sub: "alice" });
  });

  it.each([
    ["a trailing no-break space", `Bearer ${jws}\u00a0`],
    ["a leading no-break space", `Bearer \u00a0${jws}`],
  ])("treats a token with %s as an invalid token, not as the token without it", (_behaviour, value) => {
    expect(() => read(value)).toThrow(InvalidTokenError);
  });
});
