import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawJson, startApi, type RunningApi } from "./helpers/api.ts";

// How FastAPI turns request bytes into a body: json_invalid with Python's message and offset,
// content types that are not JSON, encodings, and the failures that are not 422s.
let api: RunningApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

const post = (body: string | Uint8Array, headers: Record<string, string> = {}) =>
  api.call("POST", "/api/alice/tasks", { body, headers });
const jsonInvalid = (pos: number, error: string) => ({
  detail: [{ type: "json_invalid", loc: ["body", pos], msg: "JSON decode error", input: {}, ctx: { error } }],
});

describe("a body that is not valid JSON", () => {
  it.each([
    ['{"title": }', 10, "Expecting value"],
    ["{", 1, "Expecting property name enclosed in double quotes"],
    ["{'title': 'x'}", 1, "Expecting property name enclosed in double quotes"],
    ['{"title" "x"}', 9, "Expecting ':' delimiter"],
    ['{"title": "x" "description": "y"}', 14, "Expecting ',' delimiter"],
    ['{"title": "x",}', 14, "Expecting property name enclosed in double quotes"],
    ['{"title": "x"} extra', 15, "Extra data"],
    ['{"title": "unterminated', 10, "Unterminated string starting at"],
    ['{"title": "a\nb"}', 12, "Invalid control character at"],
    ['{"title": "\\x"}', 11, "Invalid \\escape"],
    ['{"title": "\\u12"}', 12, "Invalid \\uXXXX escape"],
    ['{"title": tru}', 10, "Expecting value"],
    ['{"title": 01}', 11, "Expecting ',' delimiter"],
    ["   ", 3, "Expecting value"],
    ['{"title": "😀", "x": }', 20, "Expecting value"],
  ])("answers 422 json_invalid for %j at offset %i: %s", async (body, pos, error) => {
    const answer = await post(body, { "content-type": "application/json" });
    expect(answer.status).toBe(422);
    expect(answer.body).toEqual(jsonInvalid(pos, error));
  });

  it("writes the error byte for byte as FastAPI does", async () => {
    const answer = await post("{", { "content-type": "application/json" });
    expect(answer.text).toBe(
      '{"detail":[{"type":"json_invalid","loc":["body",1],"msg":"JSON decode error","input":{},"ctx":{"error":"Expecting property name enclosed in double quotes"}}]}',
    );
  });

  it("reports json_invalid alone, before any problem with the path", async () => {
    const answer = await api.call("PUT", "/api/alice/tasks/abc", rawJson("{"));
    expect(answer.body).toEqual(jsonInvalid(1, "Expecting property name enclosed in double quotes"));
  });
});

describe("the content type", () => {
  it.each(["application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"])(
    "parses the body as JSON under %s",
    async (contentType) => {
      expect((await post('{"title": "t"}', { "content-type": contentType })).status).toBe(201);
    },
  );

  it("parses the body as JSON when no content type is sent", async () => {
    expect((await post(new TextEncoder().encode('{"title": "t"}'))).status).toBe(201);
  });

  it.each(["text/plain", "application/x-www-form-urlencoded", "text/json", "json"])(
    "hands the raw body to the model under %s, which refuses it as model_attributes_type",
    async (contentType) => {
      const answer = await post('{"title": "t"}', { "content-type": contentType });
      expect(answer.status).toBe(422);
      expect(answer.body).toEqual({
        detail: [{
          type: "model_attributes_type", loc: ["body"], msg: "Input should be a valid dictionary or object to extract fields from",
          input: '{"title": "t"}',
        }],
      });
    },
  );

  it("treats an empty body under any content type as missing", async () => {
    const answer = await post("", { "content-type": "text/plain" });
    expect(answer.body).toEqual({ detail: [{ type: "missing", loc: ["body"], msg: "Field required", input: null }] });
  });
});

describe("encodings", () => {
  it("accepts UTF-8 with a byte order mark, and UTF-16", async () => {
    const withBom = Uint8Array.from([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"title": "bom"}')]);
    expect((await post(withBom, { "content-type": "application/json" })).body).toMatchObject({ title: "bom" });
    const utf16 = Buffer.from('{"title": "wide"}', "utf16le");
    expect((await post(utf16, { "content-type": "application/json" })).body).toMatchObject({ title: "wide" });
  });

  it("answers 400 There was an error parsing the body to bytes that are not UTF-8", async () => {
    const answer = await post(Uint8Array.from([0x7b, 0xff, 0x7d]), { "content-type": "application/json" });
    expect(answer.status).toBe(400);
    expect(answer.text).toBe('{"detail":"There was an error parsing the body"}');
  });

  it("decodes \\u escapes, joining surrogate pairs", async () => {
    const answer = await post('{"title": "\\u00e9\\ud83d\\ude00"}', { "content-type": "application/json" });
    expect(answer.body).toMatchObject({ title: "é😀" });
  });
});

describe("numbers echoed in an error keep Python's form", () => {
  it.each([
    ['{"title": 1.0}', "1.0"],
    ['{"title": 1e16}', "1e+16"],
    ['{"title": 0.00001}', "1e-05"],
    ['{"title": -0}', "0"],
    ['{"title": 123456789012345678901234567890}', "123456789012345678901234567890"],
  ])("%s echoes input %s", async (body, echoed) => {
    const answer = await post(body, { "content-type": "application/json" });
    expect(answer.status).toBe(422);
    expect(answer.text).toContain(`"input":${echoed}}`);
  });
});

describe("failures FastAPI does not answer with 422", () => {
  it("answers 500 Internal Server Error when the refused value is NaN, which Python cannot write as JSON", async () => {
    const answer = await post('{"title": NaN}', { "content-type": "application/json" });
    expect(answer.status).toBe(500);
    expect(answer.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(answer.text).toBe("Internal Server Error");
  });

  it("accepts NaN in a field it ignores", async () => {
    expect((await post('{"title": "t", "score": NaN}', { "content-type": "application/json" })).status).toBe(201);
  });

  it("answers 500 to a title with a lone surrogate, which no database would store, and stores nothing", async () => {
    const before = ((await api.call("GET", "/api/lone/tasks")).body as unknown[]).length;
    const answer = await api.call("POST", "/api/lone/tasks", rawJson('{"title": "\\ud800"}'));
    expect(answer.status).toBe(500);
    expect(((await api.call("GET", "/api/lone/tasks")).body as unknown[]).length).toBe(before);
  });

  it("answers 413 to a body over 1 MiB", async () => {
    const answer = await post(JSON.stringify({ title: "t", padding: "x".repeat(1024 * 1024) }), { "content-type": "application/json" });
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual({ detail: "Request Entity Too Large" });
  });
});
