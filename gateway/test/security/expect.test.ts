/**
 * Attack: make the gateway promise what it has not checked. Without its own handling, Node
 * answered `Expect: 100-continue` with 100 Continue at once, inviting the body of a request
 * the gateway was about to refuse, and any other `Expect` with a bare 417 outside
 * problem+json. Now 100 Continue is sent only when an authorized request's body is read, and
 * another expectation gets a 417 problem+json.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/fixture.ts";
import { sendRaw } from "../helpers/raw-http.ts";

let fx: Fixture;
let token: string;
beforeAll(async () => {
  fx = await startFixture();
  token = await fx.token("alice");
});
afterAll(() => fx.close());

const post = (headers: string[], body = "") =>
  ["POST /api/alice/tasks HTTP/1.1", "Host: g.test", "Content-Type: application/json", `Content-Length: ${Buffer.byteLength(body) || 17}`, ...headers, "Connection: close", "", body].join("\r\n");

describe("Expect", () => {
  it("refuses an unauthorized request without first saying 100 Continue", async () => {
    const before = fx.forwarded();
    const response = await sendRaw(fx.gateway.port, post(["Expect: 100-continue"]));
    expect(response.raw).not.toContain("100 Continue");
    expect(response.status).toBe(401);
    expect(fx.forwarded()).toBe(before);
  });

  it("says 100 Continue to an authorized request, then forwards its body (without Expect)", async () => {
    const answer = await new Promise<string>((resolve) => {
      let data = "";
      const socket = connect(fx.gateway.port, "127.0.0.1", () => {
        socket.write(["POST /api/alice/tasks HTTP/1.1", "Host: g.test", `Authorization: Bearer ${token}`, "Content-Type: application/json",
          "Content-Length: 17", "Expect: 100-continue", "Connection: close", "", ""].join("\r\n"));
      });
      socket.on("data", (chunk) => {
        data += chunk.toString();
        if (data.startsWith("HTTP/1.1 100") && data.includes("\r\n\r\n") && !data.includes("200")) socket.write('{"title":"cont"}\n');
      });
      socket.on("close", () => resolve(data));
      socket.on("error", () => undefined);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(fx.upstream.last!.body).toBe('{"title":"cont"}\n');
    expect(fx.upstream.last!.headers.expect).toBeUndefined();
  });

  it("answers another expectation with 417 problem+json", async () => {
    const before = fx.forwarded();
    const response = await sendRaw(fx.gateway.port, post([`Authorization: Bearer ${token}`, "Expect: foo"], '{"title":"x"}'));
    expect(response.status).toBe(417);
    expect(response.headers["content-type"]).toBe("application/problem+json");
    expect(response.headers["x-request-id"]).toBeTruthy();
    expect(fx.forwarded()).toBe(before);
  });
});
