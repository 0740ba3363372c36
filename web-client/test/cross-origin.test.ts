/**
 * A web app served from another origin (as the original Next.js front end was) calls the
 * gateway from the browser with credentials. An origin in `CORS_ORIGINS` can sign up, get a
 * JWT and use the task API, and read `X-Request-Id`; any other origin is refused by the
 * browser itself: the gateway's answers carry no CORS headers for it, its preflights fail,
 * and a write that needs a preflight is never sent.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { chromiumAvailable, launchChromium } from "./helpers/browser.ts";
import { startStack, type Stack } from "./helpers/stack.ts";

/** A static origin: one empty page, so the browser has somewhere to run the calls from. */
async function staticOrigin(): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>Another web app</title><p>Another web app</p>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

interface Outcome {
  readonly status?: number;
  readonly requestId?: string | null;
  readonly body?: unknown;
  readonly refused?: string;
}

/** Runs `fetch` in the page against the gateway; a browser refusal comes back as `refused`. */
function callFrom(page: Page, url: string, init: { method?: string; body?: unknown; bearer?: string } = {}): Promise<Outcome> {
  return page.evaluate(async ({ url, init }) => {
    const headers: Record<string, string> = {};
    if (init.body !== undefined) headers["content-type"] = "application/json";
    if (init.bearer !== undefined) headers["authorization"] = `Bearer ${init.bearer}`;
    try {
      const response = await fetch(url, {
        method: init.method ?? "GET", credentials: "include", headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      return { status: response.status, requestId: response.headers.get("x-request-id"), body: await response.json().catch(() => null) };
    } catch (error) {
      return { refused: String(error) };
    }
  }, { url, init });
}

describe.runIf(chromiumAvailable())("a web app on another origin, in Chromium", () => {
  let allowed: { url: string; server: Server };
  let other: { url: string; server: Server };
  let stack: Stack;
  let browser: Browser;
  let allowedPage: Page;
  let otherPage: Page;
  const credentials = { email: `dana-${process.pid}@example.test`, password: "correct horse battery staple", name: "Dana" };

  beforeAll(async () => {
    allowed = await staticOrigin();
    other = await staticOrigin();
    stack = await startStack({ corsOrigins: [allowed.url] });
    browser = await launchChromium();
    allowedPage = await (await browser.newContext()).newPage();
    await allowedPage.goto(allowed.url);
    otherPage = await (await browser.newContext()).newPage();
    await otherPage.goto(other.url);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    allowed?.server.close();
    other?.server.close();
  });

  it("lets a listed origin sign up with a cookie, get a JWT and use the task API", async () => {
    const signUp = await callFrom(allowedPage, `${stack.gatewayUrl}/api/auth/sign-up/email`, { method: "POST", body: credentials });
    expect(signUp.status).toBe(200);
    const userId = (signUp.body as { user: { id: string } }).user.id;

    // The session cookie set by the gateway's answer goes back with `credentials: "include"`.
    const token = await callFrom(allowedPage, `${stack.gatewayUrl}/api/auth/token`);
    expect(token.status).toBe(200);
    const jwt = (token.body as { token: string }).token;

    const created = await callFrom(allowedPage, `${stack.gatewayUrl}/api/${userId}/tasks`, { method: "POST", body: { title: "From afar" }, bearer: jwt });
    expect(created.status).toBe(201);
    const listed = await callFrom(allowedPage, `${stack.gatewayUrl}/api/${userId}/tasks`, { bearer: jwt });
    expect(listed.status).toBe(200);
    expect((listed.body as { title: string }[]).map((task) => task.title)).toEqual(["From afar"]);
    // Exposed to scripts on the listed origin.
    expect(listed.requestId).toMatch(/^[A-Za-z0-9._-]+$/);

    const forged = await callFrom(allowedPage, `${stack.gatewayUrl}/api/someone-else/tasks`, { bearer: jwt });
    expect(forged.status).toBe(403);
  });

  it("has the browser refuse every call from an origin that is not listed", async () => {
    const read = await callFrom(otherPage, `${stack.gatewayUrl}/api/auth/get-session`);
    expect(read.refused).toMatch(/Failed to fetch/);
    const signIn = await callFrom(otherPage, `${stack.gatewayUrl}/api/auth/sign-in/email`, { method: "POST", body: credentials });
    expect(signIn.refused).toMatch(/Failed to fetch/);
    const tasks = await callFrom(otherPage, `${stack.gatewayUrl}/api/anyone/tasks`, { bearer: "x" });
    expect(tasks.refused).toMatch(/Failed to fetch/);
  });

  it("never sends a write whose preflight the gateway refused", async () => {
    const stranger = { email: `eve-${process.pid}@example.test`, password: "correct horse battery staple", name: "Eve" };
    const attempt = await callFrom(otherPage, `${stack.gatewayUrl}/api/auth/sign-up/email`, { method: "POST", body: stranger });
    expect(attempt.refused).toMatch(/Failed to fetch/);
    // No account was created: signing in as Eve from the listed origin fails.
    const signIn = await callFrom(allowedPage, `${stack.gatewayUrl}/api/auth/sign-in/email`, { method: "POST", body: stranger });
    expect(signIn.status).toBe(401);
  });
});
