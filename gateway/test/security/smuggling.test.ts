/**
 * Attack: request smuggling. A request whose length is ambiguous (`Content-Length` with
 * `Transfer-Encoding`, two different lengths, an obfuscated `Transfer-Encoding`) can be read
 * as one request by the gateway and two by the upstream, hiding a second request behind an
 * authorized one. Such requests are refused (400), and what is forwarded always carries one
 * length the gateway computed itself, over a body it read completely.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/fixture.ts";
import { sendRaw } from "../helpers/raw-http.ts";

let fx: Fixture;
let auth: string;
beforeAll(async () => {
  fx = await startFixture();
  auth = `Authorization: Bearer ${await fx.token("alice")}`;
});
afterAll(() => fx.close());

const smuggled = "GET /api/bob/tasks HTTP/1.1\r\nHost: x\r\nX-User-Id: bob\r\n\r\n";

function post(headers: string[], body: string): string {
  return ["POST /api/alice/tasks HTTP/1.1", "Host: gateway.test", auth, ...headers, "", body].join("\r\n");
}

describe("ambiguous message length", () => {
  it.each([
    ["CL.TE", ["Content-Length: 4", "Transfer-Encoding: chunked"], `0\r\n\r\n${smuggled}`],
    ["TE.CL", ["Transfer-Encoding: chunked", "Content-Length: 4"], `0\r\n\r\n${smuggled}`],
    ["two different lengths", ["Content-Length: 2", "Content-Length: 40"], `{}${smuggled}`],
    ["a comma-joined length", ["Content-Length: 2, 40"], `{}${smuggled}`],
    ["an obfuscated chunked", ["Transfer-Encoding: xchunked", "Content-Length: 2"], "{}"],
    ["chunked not last", ["Transfer-Encoding: chunked, identity"], "2\r\n{}\r\n0\r\n\r\n"],
    ["a negative length", ["Content-Length: -1"], "{}"],
    ["a space before the colon", ["Transfer-Encoding : chunked", "Content-Length: 2"], "{}"],
  ])("refuses %s with 400 and forwards nothing", async (_name, headers, body) => {
    const before = fx.forwarded();
    const response = await sendRaw(fx.gateway.port, post(headers, body));
    expect(response.status).toBe(400);
    expect(fx.forwarded()).toBe(before);
  });
});

describe("transfer codings", () => {
  // Node's parser frames "x, chunked" as chunked (then the gateway refuses it, 501) and refuses
  // chunked that is not last itself (400); either way nothing coded is forwarded.
  it.each([["gzip, chunked", 501], ["deflate, chunked", 501], ["Chunked, gzip", 400]])("refuses Transfer-Encoding: %s with %i instead of forwarding coded bytes", async (coding, status) => {
    const before = fx.forwarded();
    const response = await sendRaw(fx.gateway.port, post([`Transfer-Encoding: ${coding}`, "Connection: close"], "2\r\n{}\r\n0\r\n\r\n"));
    expect(response.status).toBe(status);
    expect(response.headers["content-type"]).toBe("application/problem+json");
    expect(fx.forwarded()).toBe(before);
  });
});

describe("what is forwarded", () => {
  it("forwards a chunked body with one computed Content-Length and no Transfer-Encoding", async () => {
    const body = '{"title":"chunked"}';
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const response = await sendRaw(fx.gateway.port, post(["Transfer-Encoding: chunked", "Content-Type: application/json", "Connection: close"], chunked));
    expect(response.status).toBe(200);
    const last = fx.upstream.last!;
    expect(last.body).toBe(body);
    expect(last.headers["content-length"]).toBe(String(body.length));
    expect(last.headers["transfer-encoding"]).toBeUndefined();
  });

  it("forwards a Content-Length body unchanged, byte for byte", async () => {
    const body = '{"title":"caf\u00e9 \u2615","description":"  spaced  "}';
    const response = await fetch(`${fx.gateway.url}/api/alice/tasks`, {
      method: "POST",
      headers: { authorization: auth.slice("Authorization: ".length), "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(200);
    expect(fx.upstream.last!.body).toBe(body);
    expect(fx.upstream.last!.headers["content-type"]).toBe("application/json");
  });

  it("does not forward a body sent with GET", async () => {
    const response = await sendRaw(
      fx.gateway.port,
      ["GET /api/alice/tasks HTTP/1.1", "Host: gateway.test", auth, "Content-Length: 2", "Connection: close", "", "{}"].join("\r\n"),
    );
    expect(response.status).toBe(200);
    expect(fx.upstream.last!.body).toBe("");
    expect(fx.upstream.last!.headers["content-length"]).toBeUndefined();
  });
});
