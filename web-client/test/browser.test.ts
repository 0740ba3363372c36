/**
 * A person's flow in a real browser (Debian's Chromium), through the gateway only: two users
 * in two browser contexts each manage their own tasks and never see the other's; a request
 * forged from one user's page onto the other's path is refused; signing out in one tab sends
 * the other tab back to the sign-in form at its next task call, with what was typed kept.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  addTask, chromiumAvailable, launchChromium, message, openApp, person, resultsPath, signIn, signUp, taskRow, taskTitles, userId,
} from "./helpers/browser.ts";
import { buildWebClient, startStack, type Stack } from "./helpers/stack.ts";

describe.runIf(chromiumAvailable())("the web client in Chromium, through the gateway", () => {
  const alice = person("Alice");
  const bob = person("Bob");
  let dist: string;
  let stack: Stack;
  let browser: Browser;
  let aliceContext: BrowserContext;
  let alicePage: Page;
  let bobPage: Page;

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), "web-client-dist-"));
    await buildWebClient(dist);
    stack = await startStack({ webClientDir: dist });
    browser = await launchChromium();
    aliceContext = await browser.newContext();
    alicePage = await aliceContext.newPage();
    bobPage = await (await browser.newContext()).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (dist) rmSync(dist, { recursive: true, force: true });
  });

  it("signs up two users and lets each add, edit, toggle and delete their own tasks", async () => {
    for (const [page, who] of [[alicePage, alice], [bobPage, bob]] as const) {
      await openApp(page, stack.gatewayUrl);
      expect(new URL(page.url()).pathname).toBe("/app/");
      await signUp(page, who);
      await page.locator("#tasks-view").waitFor();
      expect(await page.textContent("#account-name")).toContain(who.email);
    }

    await addTask(alicePage, "Buy milk", "2 litres, semi-skimmed");
    await taskRow(alicePage, "Buy milk").waitFor();
    await addTask(alicePage, "Call the plumber");
    await taskRow(alicePage, "Call the plumber").waitFor();
    await addTask(alicePage, "Write the report", "Quarterly numbers for the board");
    await taskRow(alicePage, "Write the report").waitFor();
    await addTask(bobPage, "Walk the dog");
    await taskRow(bobPage, "Walk the dog").waitFor();

    // Edit.
    await taskRow(alicePage, "Buy milk").getByRole("button", { name: "Edit" }).click();
    await alicePage.fill("#task-list form.edit input[name=title]", "Buy oat milk");
    await alicePage.click("#task-list form.edit button[type=submit]");
    await taskRow(alicePage, "Buy oat milk").waitFor();

    // Toggle, then filter.
    await taskRow(alicePage, "Call the plumber").getByRole("checkbox").check();
    await alicePage.locator("#task-list li.done").waitFor();
    await alicePage.selectOption("#filter", "completed");
    await expect.poll(() => taskTitles(alicePage)).toEqual(["Call the plumber"]);
    await alicePage.selectOption("#filter", "all");
    await expect.poll(() => taskTitles(alicePage)).toEqual(["Write the report", "Call the plumber", "Buy oat milk"]);

    // Delete: gone from the list at once, the DELETE sent once the undo window has passed.
    await addTask(alicePage, "Throwaway");
    await taskRow(alicePage, "Throwaway").waitFor();
    const deleted = alicePage.waitForRequest((request) => request.method() === "DELETE", { timeout: 15_000 });
    await taskRow(alicePage, "Throwaway").getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => taskTitles(alicePage)).toEqual(["Write the report", "Call the plumber", "Buy oat milk"]);
    await (await deleted).response();
    await alicePage.locator("#task-list li.deleted").waitFor({ state: "detached" });

    expect(await message(alicePage)).toBeNull();
    await alicePage.screenshot({ path: resultsPath("task-list.png"), fullPage: true });
  });

  it("shows each user only their own tasks, also after a reload", async () => {
    await Promise.all([alicePage.reload(), bobPage.reload()]);
    await expect.poll(() => taskTitles(bobPage)).toEqual(["Walk the dog"]);
    await expect.poll(() => taskTitles(alicePage)).toEqual(["Write the report", "Call the plumber", "Buy oat milk"]);
  });

  it("keeps the JWT out of every storage a script or another page could read", async () => {
    const stored = await alicePage.evaluate(() => ({
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      cookie: document.cookie,
    }));
    // A compact JWS starts with the base64url of `{"`: "eyJ".
    expect(stored).toEqual({ local: "{}", session: "{}", cookie: "" });
    const cookies = await aliceContext.cookies();
    expect(cookies.filter((cookie) => cookie.value.startsWith("eyJ"))).toEqual([]);
    expect(cookies.find((cookie) => cookie.name === "better-auth.session_token")?.httpOnly).toBe(true);
  });

  it("refuses a request forged from Alice's page onto Bob's path", async () => {
    const bobId = await userId(bobPage);
    const statuses = await alicePage.evaluate(async (victim) => {
      // What a hostile script in Alice's page can do: get Alice's own JWT with her cookie...
      const { token } = (await (await fetch("/api/auth/token")).json()) as { token: string };
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      // ...and aim it at Bob's tasks.
      const read = await fetch(`/api/${victim}/tasks`, { headers });
      const write = await fetch(`/api/${victim}/tasks`, { method: "POST", headers, body: JSON.stringify({ title: "forged" }) });
      const bare = await fetch(`/api/${victim}/tasks`, { credentials: "include" }); // the cookie alone is never a credential
      return { read: read.status, write: write.status, bare: bare.status };
    }, bobId);
    expect(statuses).toEqual({ read: 403, write: 403, bare: 401 });

    await bobPage.reload();
    await expect.poll(() => taskTitles(bobPage)).toEqual(["Walk the dog"]);
  });

  it("sends the other tab back to the sign-in form after sign-out, keeping what was typed", async () => {
    const secondTab = await aliceContext.newPage();
    await secondTab.goto(`${stack.gatewayUrl}/app/`);
    await secondTab.locator("#tasks-view").waitFor();

    await secondTab.click("#sign-out");
    await secondTab.locator("#auth-view").waitFor();
    expect(await message(secondTab)).toBe("You are signed out.");
    expect(await secondTab.evaluate(async () => (await fetch("/api/auth/token")).status)).toBe(401);

    // Back in the first tab, which still shows the list: its next task call finds the session gone.
    await alicePage.bringToFront();
    await addTask(alicePage, "Pay the rent", "before Friday");
    await alicePage.locator("#auth-view").waitFor();
    expect(await message(alicePage)).toMatch(/session has ended/);
    expect(await alicePage.isVisible("#tasks-view")).toBe(false);

    // Signing in again finds the draft where it was, and it can be sent.
    await signIn(alicePage, alice);
    await alicePage.locator("#tasks-view").waitFor();
    expect(await alicePage.inputValue("#new-title")).toBe("Pay the rent");
    expect(await alicePage.inputValue("#new-description")).toBe("before Friday");
    await alicePage.click("#new-task button[type=submit]");
    await expect.poll(() => taskTitles(alicePage)).toEqual(["Pay the rent", "Write the report", "Call the plumber", "Buy oat milk"]);
    await secondTab.close();
  });

  it("forgets a user's tasks and drafts on sign-out, so the next user starts empty", async () => {
    await alicePage.fill("#new-title", "Alice's unsent draft");
    await alicePage.click("#sign-out");
    await alicePage.locator("#auth-view").waitFor();
    expect(await alicePage.locator("#task-list li").count()).toBe(0);

    await signIn(alicePage, bob);
    await expect.poll(() => taskTitles(alicePage)).toEqual(["Walk the dog"]);
    expect(await alicePage.inputValue("#new-title")).toBe("");
  });
});
