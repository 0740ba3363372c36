/**
 * Bad input and bad luck in a real browser: a wrong password, a duplicate sign-up, an empty or
 * over-long title, the network failing, and a JWT the gateway no longer accepts. Each time the
 * page says what is wrong and keeps what the user typed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page, Request, Route } from "playwright-core";
import {
  addTask, chromiumAvailable, fieldError, launchChromium, markedFields, message, openApp, person, signIn, signUp, taskRow, taskTitles,
} from "./helpers/browser.ts";
import { buildWebClient, startStack, type Stack } from "./helpers/stack.ts";

/** Task API calls (`/api/{user_id}/tasks…`), not the auth-service's `/api/auth/*`. */
function isTaskCall(url: URL): boolean {
  return /^\/api\/[^/]+\/tasks/.test(url.pathname) && !url.pathname.startsWith("/api/auth/");
}

describe.runIf(chromiumAvailable())("bad input and failures in the web client", () => {
  const carol = person("Carol");
  let dist: string;
  let stack: Stack;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), "web-client-dist-"));
    await buildWebClient(dist);
    stack = await startStack({ webClientDir: dist });
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    await openApp(page, stack.gatewayUrl);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (dist) rmSync(dist, { recursive: true, force: true });
  });

  it("says so on a duplicate sign-up and keeps the form filled", async () => {
    await signUp(page, carol);
    await page.locator("#tasks-view").waitFor();
    await page.click("#sign-out");
    await page.locator("#auth-view").waitFor();

    await signUp(page, { ...carol, name: "Carol Again" });
    await expect.poll(() => fieldError(page, "email")).toMatch(/already exists/);
    expect(await markedFields(page)).toEqual(["email"]);
    expect(await page.inputValue("#auth-name")).toBe("Carol Again");
    expect(await page.inputValue("#auth-email")).toBe(carol.email);
    expect(await page.inputValue("#auth-password")).toBe(carol.password);
  });

  it("says so on a wrong password and keeps the email and password typed", async () => {
    await signIn(page, { email: carol.email, password: "not my password" });
    await expect.poll(() => fieldError(page, "password")).toBe("Wrong email or password.");
    // Either may be the wrong one: both are marked, the sentence is said once.
    expect(await markedFields(page)).toEqual(["email", "password"]);
    expect(await fieldError(page, "email")).toBeNull();
    expect(await page.inputValue("#auth-email")).toBe(carol.email);
    expect(await page.inputValue("#auth-password")).toBe("not my password");
    expect(await page.isVisible("#auth-view")).toBe(true);

    await page.fill("#auth-password", carol.password);
    await page.click("#auth-submit");
    await page.locator("#tasks-view").waitFor();
    expect(await message(page)).toBeNull();
    expect(await markedFields(page)).toEqual([]);
  });

  it("refuses an empty or over-long title with a reason, keeping the input", async () => {
    await addTask(page, "   ", "a description worth keeping");
    await expect.poll(() => message(page)).toBe("Enter a title.");
    expect(await page.getAttribute("#new-title", "aria-invalid")).toBe("true");
    expect(await page.inputValue("#new-description")).toBe("a description worth keeping");

    const long = "x".repeat(201);
    await addTask(page, long, "still here");
    await expect.poll(() => message(page)).toBe("The title is too long: 201 characters, at most 200.");
    expect(await page.inputValue("#new-title")).toBe(long);
    expect(await page.inputValue("#new-description")).toBe("still here");

    await page.fill("#new-title", "x".repeat(200));
    await page.click("#new-task button[type=submit]");
    await expect.poll(() => taskTitles(page)).toEqual(["x".repeat(200)]);
    expect(await message(page)).toBeNull();
  });

  it("explains a network failure and sends the same input once the network is back", async () => {
    const offline = (route: Route) => route.abort("connectionrefused");
    await page.route(isTaskCall, offline);
    await addTask(page, "Renew passport", "photos first");
    await expect.poll(() => message(page)).toBe("Cannot reach the server. Check your connection and try again.");
    expect(await page.inputValue("#new-title")).toBe("Renew passport");

    await page.unroute(isTaskCall, offline);
    await page.click("#new-task button[type=submit]");
    await taskRow(page, "Renew passport").waitFor();
    expect(await message(page)).toBeNull();
    expect(await page.inputValue("#new-title")).toBe("");
  });

  it("fetches a fresh JWT once when the gateway refuses the current one, and retries", async () => {
    const tokenRequests: Request[] = [];
    const onRequest = (request: Request) => {
      if (new URL(request.url()).pathname === "/api/auth/token") tokenRequests.push(request);
    };
    page.on("request", onRequest);
    // The next task call carries a JWT with a broken signature: the gateway answers 401 as it
    // would for an expired one.
    let spoiled = 0;
    const spoilOnce = async (route: Route) => {
      if (spoiled > 0) return route.fallback();
      spoiled += 1;
      const headers = { ...route.request().headers() };
      headers["authorization"] = `${headers["authorization"]?.slice(0, -4)}AAAA`;
      return route.fallback({ headers });
    };
    await page.route(isTaskCall, spoilOnce);

    await addTask(page, "Book the dentist");
    await taskRow(page, "Book the dentist").waitFor();
    expect(await message(page)).toBeNull();
    expect(spoiled).toBe(1);
    expect(tokenRequests).toHaveLength(1);
    await page.unroute(isTaskCall, spoilOnce);
    page.off("request", onRequest);
  });

  it("shows the sign-in form when a fresh JWT is refused too, then finishes the edit after sign-in", async () => {
    const spoilAll = (route: Route) => route.fallback({ headers: { ...route.request().headers(), authorization: "Bearer not.a.jwt" } });
    await page.route(isTaskCall, spoilAll);

    await taskRow(page, "Book the dentist").getByRole("button", { name: "Edit" }).click();
    await page.fill("#task-list form.edit input[name=title]", "Book the dentist for Tuesday");
    await page.click("#task-list form.edit button[type=submit]");
    await page.locator("#auth-view").waitFor();
    expect(await message(page)).toMatch(/session has ended/);

    await page.unroute(isTaskCall, spoilAll);
    await signIn(page, carol);
    // The edit form is back, with what was typed in it.
    const title = page.locator("#task-list form.edit input[name=title]");
    await title.waitFor();
    expect(await title.inputValue()).toBe("Book the dentist for Tuesday");
    await page.click("#task-list form.edit button[type=submit]");
    await taskRow(page, "Book the dentist for Tuesday").waitFor();
  });

  it("names a title the API refuses, even when the page's own check is bypassed", async () => {
    // A 201-character title that passes the page's check only because the request is rewritten on its way.
    const lengthen = (route: Route) => {
      const body = JSON.parse(route.request().postData() ?? "{}") as Record<string, unknown>;
      return route.fallback({ postData: JSON.stringify({ ...body, title: "y".repeat(201) }) });
    };
    await page.route(isTaskCall, lengthen);
    await addTask(page, "short");
    await expect.poll(() => message(page)).toBe("The title is too long: at most 200 characters.");
    expect(await page.inputValue("#new-title")).toBe("short");
    await page.unroute(isTaskCall, lengthen);
  });
});
