/**
 * Attack: end the process. Node hands some sockets to the application without its own error
 * listener (after CONNECT, on a parse error), so one RST at the wrong moment used to be an
 * uncaught 'error' event: `CONNECT a:1` followed by a reset killed the gateway. Every raw path
 * is tried here against the real process (`gateway/src/server.ts`): resets, half-closes and
 * garbage before, during and after requests, uploads and answers, pipelined junk while an
 * answer is in flight, slow headers. Afterwards the same pid must still answer /healthz, and
 * nothing may have been logged as an internal failure or with a stack trace.
 */
import { connect, type Socket } from "node:net";
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JwksServer, createSigningKey, type SigningKey } from "../helpers/keys.ts";
import { startGatewayProcess, waitFor, type GatewayProcess } from "../helpers/process.ts";
import { AUDIENCE, ISSUER, mintToken } from "../helpers/tokens.ts";
import { RecordingUpstream } from "../helpers/upstream.ts";

let key: SigningKey;
let jwks: JwksServer;
let upstream: RecordingUpstream;
let gateway: GatewayProcess;
let port: number;
let token: string;

beforeAll(async () => {
  key = await createSigningKey();
  jwks = await new JwksServer([key]).start();
  upstream = await new RecordingUpstream().start();
  gateway = startGatewayProcess({
    JWKS_URL: jwks.url, LEGACY_API_URL: upstream.url, AUTH_SERVICE_URL: upstream.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE,
    LOG_LEVEL: "info", HEADERS_TIMEOUT_MS: "1000", REQUEST_TIMEOUT_MS: "2000", UPSTREAM_TIMEOUT_MS: "3000",
  });
  port = Number(new URL(await gateway.listening).port);
  token = await mintToken({ key, sub: "alice", iat: Math.floor(Date.now() / 1000) });
});

afterAll(async () => {
  await gateway.stop();
  await Promise.all([jwks.stop(), upstream.stop()]);
});

/** Opens a connection, runs `script` on it, and resolves when the connection is gone. */
function onSocket(script: (socket: Socket) => void, { allowHalfOpen = false } = {}): Promise<string> {
  return new Promise((resolve) => {
    let received = "";
    const socket = connect({ port, host: "127.0.0.1", allowHalfOpen }, () => script(socket));
    socket.on("data", (chunk) => (received += chunk.toString("latin1")));
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(received));
    socket.setTimeout(8_000, () => socket.destroy());
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const authorized = (target = "/api/alice/tasks") => `GET ${target} HTTP/1.1\r\nHost: g.test\r\nAuthorization: Bearer ${token}\r\n\r\n`;

async function healthyAndSamePid(): Promise<void> {
  expect(gateway.alive()).toBe(true);
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(response.status).toBe(200);
}

describe("resets, half-closes and garbage on every raw path", () => {
  it("survives CONNECT followed by a reset (the reported crash)", async () => {
    for (let i = 0; i < 5; i++) {
      await onSocket((s) => {
        s.write("CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n");
        s.resetAndDestroy();
      });
    }
    await sleep(200);
    await healthyAndSamePid();
  });

  it("answers CONNECT with problem+json, then closes a socket the client leaves open", async () => {
    const fdsBefore = readdirSync(`/proc/${gateway.child.pid}/fd`).length;
    const sockets: Socket[] = [];
    const answers: Promise<string>[] = [];
    for (let i = 0; i < 20; i++) {
      answers.push(new Promise((resolve) => {
        let data = "";
        const s = connect({ port, host: "127.0.0.1", allowHalfOpen: true }, () => s.write("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"));
        s.on("data", (chunk) => {
          data += chunk.toString();
          if (data.includes("}")) resolve(data);
        });
        s.on("error", () => undefined);
        sockets.push(s);
      }));
    }
    const first = await answers[0]!;
    expect(first).toMatch(/^HTTP\/1\.1 400 /);
    expect(first).toContain("application/problem+json");
    await Promise.all(answers);
    // The gateway holds them no longer than its raw-socket timeout (5 s), though the client never closes.
    await waitFor(() => readdirSync(`/proc/${gateway.child.pid}/fd`).length <= fdsBefore + 2, 9_000, "CONNECT sockets closed by the gateway");
    for (const s of sockets) s.destroy();
    await healthyAndSamePid();
  });

  it("survives an Upgrade request reset mid-way, and garbage after it", async () => {
    await onSocket((s) => {
      s.write(`GET /api/alice/tasks HTTP/1.1\r\nHost: g.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      s.write(Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]));
      setTimeout(() => s.resetAndDestroy(), 20);
    });
    await healthyAndSamePid();
  });

  it.each([
    ["binary garbage", Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256))],
    ["a request line without a version", Buffer.from("GET /\r\n\r\n")],
    ["a header without a colon", Buffer.from("GET / HTTP/1.1\r\nHost: x\r\nnonsense\r\n\r\n")],
    ["a null in the target", Buffer.from("GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n")],
    ["a bad chunk size", Buffer.from("POST /api/auth/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")],
  ])("answers %s with 400 or a close, and survives a reset right after", async (_what, bytes) => {
    const answer = await onSocket((s) => {
      s.write(bytes);
      setTimeout(() => s.resetAndDestroy(), 30);
    });
    if (answer !== "") expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    await onSocket((s) => s.end(bytes));
    await healthyAndSamePid();
  });

  it("survives half-closes: a request cut off after its headers started, and after its body started", async () => {
    await onSocket((s) => s.end("GET /api/alice/tasks HTTP/1.1\r\nHost: g"));
    await onSocket((s) => s.end(`POST /api/auth/sign-in HTTP/1.1\r\nHost: g\r\nContent-Length: 100\r\n\r\n{"a":`));
    await onSocket((s) => s.end(`POST /api/alice/tasks HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer ${token}\r\nContent-Length: 100\r\n\r\n{"a":`));
    await healthyAndSamePid();
  });

  it("survives resets in the middle of a body, of a slow answer and of a streamed answer", async () => {
    await onSocket((s) => {
      s.write(`POST /api/alice/tasks HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer ${token}\r\nContent-Length: 100000\r\n\r\n`);
      s.write("x".repeat(50_000));
      setTimeout(() => s.resetAndDestroy(), 50);
    });
    upstream.delayMs = 300;
    await onSocket((s) => {
      s.write(authorized());
      setTimeout(() => s.resetAndDestroy(), 50);
    });
    upstream.delayMs = 0;
    upstream.chunked = true;
    upstream.responseBody = "y".repeat(2 * 1024 * 1024);
    await onSocket((s) => {
      s.write(authorized());
      s.once("data", () => s.resetAndDestroy());
    });
    upstream.chunked = false;
    upstream.responseBody = undefined;
    await healthyAndSamePid();
  });

  it("never writes a 400 into an answer in flight: pipelined garbage closes the connection instead", async () => {
    upstream.delayMs = 300;
    const received = await onSocket((s) => s.write(`${authorized()}GARBAGE / NOT-HTTP\r\n\r\n`));
    upstream.delayMs = 0;
    expect(received).not.toContain("400 Bad Request");
    // If anything was written it is the first answer, whole.
    if (received !== "") expect(received).toMatch(/^HTTP\/1\.1 200 /);
    await healthyAndSamePid();
  });

  it("never answers a CONNECT pipelined behind an answer in flight (it would be read as that answer)", async () => {
    upstream.delayMs = 300;
    const received = await onSocket((s) => s.write(`${authorized()}CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n`));
    upstream.delayMs = 0;
    expect(received).not.toMatch(/^HTTP\/1\.1 4/);
    await healthyAndSamePid();
  });

  it("answers headers that never finish with 408 problem+json after HEADERS_TIMEOUT_MS", async () => {
    const started = Date.now();
    const answer = await onSocket((s) => s.write("GET /api/alice/tasks HTTP/1.1\r\nHost: g.test\r\nX-Slow: 1\r\n"));
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain("application/problem+json");
    expect(Date.now() - started).toBeLessThan(4_000);
    await healthyAndSamePid();
  });

  it("logs client aborts as such: one line, status 499, no stack, not an internal failure", async () => {
    upstream.delayMs = 400;
    await onSocket((s) => {
      s.write(`GET /api/alice/tasks HTTP/1.1\r\nHost: g.test\r\nX-Request-Id: abort-me\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      setTimeout(() => s.destroy(), 100);
    });
    upstream.delayMs = 0;
    await waitFor(() => gateway.output().stdout.includes('"reqId":"abort-me"'), 3_000, "the aborted request's access line");
    const line = gateway.output().stdout.split("\n").find((l) => l.includes('"reqId":"abort-me"'))!;
    expect(JSON.parse(line)).toMatchObject({ status: 499, reason: "client_aborted", granted: false });
  });

  it("has logged no internal failure and no stack trace through all of the above", async () => {
    await healthyAndSamePid();
    const { stdout, stderr } = gateway.output();
    expect(stderr).not.toMatch(/Unhandled|uncaught|TypeError| {4}at /);
    expect(stdout).not.toMatch(/"reason":"internal"|"level":50|"stack"/);
  });
});
