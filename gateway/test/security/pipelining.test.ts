/**
 * Attack: make one connection do the work of thousands. Node starts every request it parses
 * at once, pipelined or not: 2,000 pipelined requests in one write filled the auth upstream's
 * whole pool and queue (everyone else got 503), and pipelined requests whose answers were never
 * read held those answers in memory (100 connections × 150 requests: +400 MB). Now requests
 * on one connection are served one at a time, in order; at most 16 may wait behind the one
 * being served, and past that the connection is closed.
 */
import { createServer } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/fixture.ts";
import { startGateway } from "../helpers/gateway.ts";

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(() => fx.close());

/** Writes `requests` in one go on one connection and collects what comes back until it closes. */
function pipelined(port: number, requests: string[], timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(requests.join("")));
    socket.on("data", (chunk) => (data += chunk.toString("latin1")));
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(data));
    setTimeout(() => socket.destroy(), timeoutMs);
  });
}

const get = (path: string, id: string, close = false) =>
  `GET ${path} HTTP/1.1\r\nHost: g.test\r\nX-Request-Id: ${id}\r\n${close ? "Connection: close\r\n" : ""}\r\n`;

describe("pipelined requests", () => {
  it("are served one at a time, in order, each answered, never two at the upstream at once", async () => {
    // An upstream that counts how many requests it holds at once.
    let holding = 0;
    let most = 0;
    const order: string[] = [];
    const counting = createServer((req, res) => {
      holding += 1;
      most = Math.max(most, holding);
      order.push(String(req.headers["x-request-id"]));
      setTimeout(() => {
        holding -= 1;
        res.writeHead(200, { "content-type": "application/json", "content-length": "2" }).end("{}");
      }, 20);
    });
    await new Promise<void>((resolve) => counting.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(counting.address() as AddressInfo).port}`;
    const gateway = await startGateway({ JWKS_URL: fx.jwks.url, LEGACY_API_URL: url, AUTH_SERVICE_URL: url });
    try {
      const answer = await pipelined(gateway.port, Array.from({ length: 10 }, (_, i) => get("/api/auth/get-session", `p-${i}`, i === 9)));
      const ids = [...answer.matchAll(/x-request-id: (p-\d+)/gi)].map((m) => m[1]);
      expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => `p-${i}`));
      expect(order).toEqual(ids);
      expect(most).toBe(1);
    } finally {
      await gateway.close();
      counting.closeAllConnections();
      await new Promise((resolve) => counting.close(resolve));
    }
  });

  it("closes a connection that pipelines more than 16 behind the one served, and starts only those", async () => {
    fx.upstream.delayMs = 100;
    const before = fx.forwarded();
    const answer = await pipelined(fx.gateway.port, Array.from({ length: 2_000 }, (_, i) => get("/api/auth/get-session", `r-${i}`)), 8_000);
    fx.upstream.delayMs = 0;
    // At most the one served and the 16 waiting ever reached the upstream.
    expect(fx.forwarded() - before).toBeLessThanOrEqual(17);
    expect((answer.match(/HTTP\/1\.1 200/g) ?? []).length).toBeLessThanOrEqual(17);
    // Others are served meanwhile and afterwards.
    expect((await fetch(`${fx.gateway.url}/api/auth/get-session`)).status).toBe(200);
  });
});
