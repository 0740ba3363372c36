/**
 * The task list in a real browser: each task says when it was created and last updated
 * ("3 minutes ago", the exact time on hover, read from the API's zoneless UTC timestamps), and
 * Delete can be taken back: the task leaves the list at once, its DELETE is sent only once the
 * undo window has passed (or the person signs out, or closes the page), and Undo within the
 * window sends nothing at all. The page's clock is Playwright's, so minutes pass on demand.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page, Request } from "playwright-core";
import { addTask, chromiumAvailable, launchChromium, message, openApp, person, signIn, signUp, taskRow, taskTitles } from "./helpers/browser.ts";
import { buildWebClient, startStack, type Stack } from "./helpers/stack.ts";

interface ApiTask {
  readonly id: number;
  readonly title: string;
  readonly created_at: string;
  readonly updated_at: string;
}

describe.runIf(chromiumAvailable())("dates and undoable deletes in the task list", () => {
  const frank = person("Frank");
  let dist: string;
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const deletes: Request[] = [];

  /** The tasks as the API has them now, fetched by the page itself with a fresh JWT. */
  const apiTasks = (on: Page = page) =>
    on.evaluate(async () => {
      const session = (await (await fetch("/api/auth/get-session")).json()) as { user: { id: string } };
      const { token } = (await (await fetch("/api/auth/token")).json()) as { token: string };
      const response = await fetch(`/api/${encodeURIComponent(session.user.id)}/tasks`, { headers: { authorization: `Bearer ${token}` } });
      return (await response.json()) as ApiTask[];
    });

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), "web-client-dist-"));
    await buildWebClient(dist);
    stack = await startStack({ webClientDir: dist });
    browser = await launchChromium();
    // A zone far from UTC, so a zoneless timestamp read as local time would be 9 hours off.
    context = await browser.newContext({ locale: "en-US", timezoneId: "Asia/Tokyo" });
    page = await context.newPage();
    await page.clock.install();
    context.on("request", (request) => {
      if (request.method() === "DELETE") deletes.push(request);
    });
    await openApp(page, stack.gatewayUrl);
    await signUp(page, frank);
    await page.locator("#tasks-view").waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (dist) rmSync(dist, { recursive: true, force: true });
  });

  it("says when a task was created, with the exact time in the reader's zone on hover", async () => {
    await addTask(page, "Water the plants");
    const created = taskRow(page, "Water the plants").locator("time.created");
    await created.waitFor();
    expect(await created.textContent()).toBe("just now");
    const [task] = await apiTasks();
    // The API's timestamp has no zone: it is UTC.
    expect(task!.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$/);
    const instant = new Date(`${task!.created_at}Z`);
    expect(await created.getAttribute("datetime")).toBe(instant.toISOString());
    const expected = instant.toLocaleString("en-US", { dateStyle: "long", timeStyle: "long", timeZone: "Asia/Tokyo" });
    expect(await created.getAttribute("title")).toBe(expected);
    expect(expected).toContain("GMT+9");
    // Not updated yet: no second date.
    expect(await taskRow(page, "Water the plants").locator("time.updated").count()).toBe(0);
  });

  it("shows when a task was last updated, and counts the minutes as they pass", async () => {
    const row = () => taskRow(page, "Water the plants");
    await row().getByRole("checkbox").check();
    await page.locator("#task-list li.done").waitFor();
    const updated = row().locator("time.updated");
    await updated.waitFor();
    expect(await updated.textContent()).toBe("just now");
    const [task] = await apiTasks();
    expect(task!.updated_at).not.toBe(task!.created_at);
    expect(await updated.getAttribute("datetime")).toBe(new Date(`${task!.updated_at}Z`).toISOString());

    // The page's clock moves on (the list is refreshed every 30 s): the words follow.
    await page.clock.fastForward("03:10");
    await expect.poll(() => row().locator(".dates").textContent()).toBe("Created 3 minutes ago · updated 3 minutes ago");
    await page.clock.fastForward("02:00:00");
    await expect.poll(() => row().locator("time.created").textContent()).toBe("2 hours ago");
  });

  it("takes a deleted task back with Undo, and never sends its DELETE", async () => {
    await addTask(page, "Keep me after all");
    await taskRow(page, "Keep me after all").waitFor();
    deletes.length = 0;
    await taskRow(page, "Keep me after all").getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => taskTitles(page)).toEqual(["Water the plants"]);
    const note = page.locator("#task-list li.deleted");
    expect(await note.textContent()).toContain("Deleted “Keep me after all”.");
    expect(await page.textContent("#task-count")).toBe("(1)");
    await note.getByRole("button", { name: "Undo deleting Keep me after all" }).click();
    await expect.poll(() => taskTitles(page)).toEqual(["Keep me after all", "Water the plants"]);
    // Long past the window: nothing was sent, and the API still has the task.
    await page.clock.fastForward("00:30");
    expect(deletes).toHaveLength(0);
    expect((await apiTasks()).map((task) => task.title)).toEqual(["Keep me after all", "Water the plants"]);
    expect(await message(page)).toBeNull();
  });

  it("sends the DELETE only once the undo window has passed", async () => {
    deletes.length = 0;
    await taskRow(page, "Keep me after all").getByRole("button", { name: "Delete" }).click();
    await page.locator("#task-list li.deleted").waitFor();
    await page.clock.fastForward(4_000);
    expect(deletes).toHaveLength(0);
    expect((await apiTasks()).map((task) => task.title)).toContain("Keep me after all");
    const sent = page.waitForRequest((request) => request.method() === "DELETE");
    await page.clock.fastForward(1_500);
    expect((await (await sent).response())?.status()).toBe(204);
    await page.locator("#task-list li.deleted").waitFor({ state: "detached" });
    expect((await apiTasks()).map((task) => task.title)).toEqual(["Water the plants"]);
    expect(await taskTitles(page)).toEqual(["Water the plants"]);
  });

  it("sends a waiting DELETE before signing out", async () => {
    await addTask(page, "Gone before sign-out");
    await taskRow(page, "Gone before sign-out").waitFor();
    deletes.length = 0;
    await taskRow(page, "Gone before sign-out").getByRole("button", { name: "Delete" }).click();
    await page.click("#sign-out");
    await page.locator("#auth-view").waitFor();
    expect(deletes).toHaveLength(1);
    expect((await deletes[0]!.response())?.status()).toBe(204);
    await signIn(page, frank);
    await expect.poll(() => taskTitles(page)).toEqual(["Water the plants"]);
  });

  it("sends a waiting DELETE when the page is closed", async () => {
    await addTask(page, "Gone with the tab");
    await taskRow(page, "Gone with the tab").waitFor();
    await taskRow(page, "Gone with the tab").getByRole("button", { name: "Delete" }).click();
    await page.locator("#task-list li.deleted").waitFor();
    await page.close({ runBeforeUnload: true });
    const other = await context.newPage();
    await other.goto(`${stack.gatewayUrl}/app/`);
    await other.locator("#tasks-view").waitFor();
    await expect.poll(async () => (await apiTasks(other)).map((task) => task.title), { timeout: 10_000 }).toEqual(["Water the plants"]);
    page = other;
  });
});
