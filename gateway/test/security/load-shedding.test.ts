/**
 * Attack: make everyone slow. Cold tokens cost ~150 µs of signature work each; a flood of them
 * (or any CPU-bound stall) backs up the event loop until every request, cheap or not, waits.
 * While the loop lags past MAX_EVENT_LOOP_DELAY_MS the gateway answers new requests 503 with
 * Retry-After at once, as @fastify/under-pressure does, so accepted work finishes; its own
 * /healthz still answers, and /readyz reports the load so a balancer can move traffic away.
 * The gateway runs in this process, so blocking this event loop is blocking the gateway's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/fixture.ts";
import { waitFor } from "../helpers/process.ts";

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture({ MAX_EVENT_LOOP_DELAY_MS: "200" });
});
afterAll(() => fx.close());

/** Busy-loops for `ms` out of every `ms + 5`, until stopped: a loop that lags continuously. */
function stallEventLoop(ms: number): () => void {
  const timer = setInterval(() => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // spin
    }
  }, 5);
  return () => clearInterval(timer);
}

describe("event-loop lag", () => {
  it("answers new requests 503 with Retry-After while the loop lags, and serves again once it recovers", async () => {
    const headers = await fx.bearer("alice");
    expect((await fetch(`${fx.gateway.url}/api/alice/tasks`, { headers })).status).toBe(200);
    const before = fx.forwarded();
    const resume = stallEventLoop(400);
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const shed = await fetch(`${fx.gateway.url}/api/alice/tasks`, { headers });
      expect(shed.status).toBe(503);
      expect(shed.headers.get("retry-after")).toBe("1");
      expect(shed.headers.get("content-type")).toBe("application/problem+json");
      expect(((await shed.json()) as { detail: string }).detail).toBe("the gateway is overloaded; try again shortly");
      expect(fx.forwarded()).toBe(before);
      // Liveness is not load: /healthz still answers; /readyz says why it is not ready.
      expect((await fetch(`${fx.gateway.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${fx.gateway.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks.load).toBe("missing");
    } finally {
      resume();
    }
    await waitFor(async () => (await fetch(`${fx.gateway.url}/api/alice/tasks`, { headers })).status === 200, 3_000, "recovery");
  });
});
