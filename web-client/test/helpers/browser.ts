/**
 * Debian's Chromium driven by playwright-core. No browser is ever downloaded: the tests use
 * `/usr/bin/chromium` (`apt-get install chromium`, which `.ci/run` does when it is missing).
 */
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";
/** Screenshots and other artifacts (git-ignored: `test-results/`). */
export const RESULTS_DIR = fileURLToPath(new URL("../../test-results/", import.meta.url));

/**
 * Whether the browser tests can run. Without Chromium they are skipped with a visible line,
 * or, under `REQUIRE_SERVICES=1` (CI), a failing test says what is missing.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  const reason = `${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install -y chromium)`;
  if (process.env.REQUIRE_SERVICES === "1") {
    it("has Debian's Chromium for the browser tests", () => {
      throw new Error(`${reason}; REQUIRE_SERVICES=1 makes this a failure`);
    });
  } else {
    console.warn(`[web-client] browser tests skipped: ${reason}`);
  }
  return false;
}

export function launchChromium(): Promise<Browser> {
  // Flags from the machine notes: without the background-networking ones Chromium keeps
  // trying to reach Google's hosts, which this closed network refuses.
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

export function resultsPath(name: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  return `${RESULTS_DIR}${name}`;
}

export interface Person {
  readonly name: string;
  readonly email: string;
  readonly password: string;
}

let people = 0;
export function person(name: string): Person {
  people += 1;
  return { name, email: `${name.toLowerCase()}-${process.pid}-${people}@example.test`, password: "correct horse battery staple" };
}

/** Opens the app through the gateway's root (which redirects to `/app/`) at the sign-in form. */
export async function openApp(page: Page, gatewayUrl: string): Promise<void> {
  page.setDefaultTimeout(10_000);
  await page.goto(`${gatewayUrl}/`);
  await page.locator("#auth-view").waitFor();
}

export async function signUp(page: Page, who: Person): Promise<void> {
  if ((await page.locator("#auth-form").getAttribute("data-mode")) !== "sign-up") await page.click("#auth-switch");
  await page.fill("#auth-name", who.name);
  await page.fill("#auth-email", who.email);
  await page.fill("#auth-password", who.password);
  await page.click("#auth-submit");
}

export async function signIn(page: Page, who: Pick<Person, "email" | "password">): Promise<void> {
  if ((await page.locator("#auth-form").getAttribute("data-mode")) === "sign-up") await page.click("#auth-switch");
  await page.fill("#auth-email", who.email);
  await page.fill("#auth-password", who.password);
  await page.click("#auth-submit");
}

export async function addTask(page: Page, title: string, description = ""): Promise<void> {
  await page.fill("#new-title", title);
  await page.fill("#new-description", description);
  await page.click("#new-task button[type=submit]");
}

/** The titles in the list, once the page has finished what it was doing. */
export async function taskTitles(page: Page): Promise<string[]> {
  return page.locator("#task-list .title").allTextContents();
}

/** The task's row in the list. */
export function taskRow(page: Page, title: string) {
  return page.locator("#task-list li", { has: page.locator(".title", { hasText: title }) });
}

/** The message line's text, or `null` while it is hidden. */
export async function message(page: Page): Promise<string | null> {
  const line = page.locator("#message");
  return (await line.isVisible()) ? line.textContent() : null;
}

/** The sentence shown under a sign-in / sign-up field, or `null` while there is none. */
export async function fieldError(page: Page, field: "name" | "email" | "password"): Promise<string | null> {
  const slot = page.locator(`#auth-${field}-error`);
  return (await slot.isVisible()) ? slot.textContent() : null;
}

/** Which of the sign-in / sign-up fields are marked invalid (`aria-invalid="true"`). */
export async function markedFields(page: Page): Promise<string[]> {
  return page.locator("#auth-form [aria-invalid=true]").evaluateAll((inputs) => inputs.map((input) => (input as HTMLInputElement).name));
}

/** The signed-in user's id, as the page's own session sees it. */
export function userId(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const response = await fetch("/api/auth/get-session");
    return ((await response.json()) as { user: { id: string } }).user.id;
  });
}
