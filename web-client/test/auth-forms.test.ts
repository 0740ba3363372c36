/**
 * Sign-up and sign-in refusals in a real browser, one per answer Better Auth and the
 * auth-service give: each becomes a sentence under the field it is about, that field marked
 * (`aria-invalid` and a red border), the form kept as typed; the password rule is on the
 * sign-up form before anything is sent. Where the page's own checks would stop a value first,
 * the request is rewritten on its way, so the service's answer is what is shown.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Browser, Page, Request, Route } from "playwright-core";
import { chromiumAvailable, fieldError, launchChromium, markedFields, message, openApp, person, signIn, signUp } from "./helpers/browser.ts";
import { buildWebClient, startStack, type Stack } from "./helpers/stack.ts";

const isSignUp = (url: URL) => url.pathname === "/api/auth/sign-up/email";
const isSignIn = (url: URL) => url.pathname === "/api/auth/sign-in/email";

/** Rewrites the JSON body of the matching requests (the page's own check never sees the change). */
async function rewriting(page: Page, match: (url: URL) => boolean, change: (body: Record<string, unknown>) => Record<string, unknown>, work: () => Promise<void>) {
  const rewrite = (route: Route) => route.fallback({ postData: JSON.stringify(change(JSON.parse(route.request().postData() ?? "{}") as Record<string, unknown>)) });
  await page.route(match, rewrite);
  try {
    await work();
  } finally {
    await page.unroute(match, rewrite);
  }
}

describe.runIf(chromiumAvailable())("sign-up and sign-in refusals, field by field", () => {
  let dist: string;
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  const dana = person("Dana");
  const authRequests: Request[] = [];

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), "web-client-dist-"));
    await buildWebClient(dist);
    stack = await startStack({ webClientDir: dist });
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (isSignUp(url) || isSignIn(url)) authRequests.push(request);
    });
    await openApp(page, stack.gatewayUrl);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (dist) rmSync(dist, { recursive: true, force: true });
  });

  beforeEach(() => {
    authRequests.length = 0;
  });

  const toSignUp = async () => {
    if ((await page.getAttribute("#auth-form", "data-mode")) !== "sign-up") await page.click("#auth-switch");
  };

  it("states the password rule on the sign-up form before anything is sent, and not on sign-in", async () => {
    await toSignUp();
    const rule = page.locator("#password-rule");
    expect(await rule.isVisible()).toBe(true);
    expect(await rule.textContent()).toMatch(/^8 to 128 characters\./);
    expect(await page.getAttribute("#auth-password", "aria-describedby")).toContain("password-rule");
    expect(authRequests).toHaveLength(0);
    await page.click("#auth-switch");
    expect(await rule.isVisible()).toBe(false);
  });

  it("puts a malformed email on sign-up into words under the email field, marks it, and keeps the form", async () => {
    await signUp(page, { name: "Dana", email: "dana@@example", password: dana.password });
    await expect.poll(() => fieldError(page, "email")).toBe("Enter an email address such as name@example.com.");
    // The sign-up service answered (400 VALIDATION_ERROR "[body.email] Invalid email address"): no client-side guess.
    expect(authRequests).toHaveLength(1);
    expect((await authRequests[0]!.response())?.status()).toBe(400);
    expect(await markedFields(page)).toEqual(["email"]);
    expect(await message(page)).toBeNull();
    const border = await page.locator("#auth-email").evaluate((input) => getComputedStyle(input).borderTopColor);
    const plain = await page.locator("#auth-name").evaluate((input) => getComputedStyle(input).borderTopColor);
    expect(border).not.toBe(plain);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("auth-email");
    expect(await page.getAttribute("#auth-email", "aria-describedby")).toBe("auth-email-error");
    expect(await page.inputValue("#auth-name")).toBe("Dana");
    expect(await page.inputValue("#auth-email")).toBe("dana@@example");
    expect(await page.inputValue("#auth-password")).toBe(dana.password);

    // Typing in the field takes the mark off; a good address then creates the account.
    await page.fill("#auth-email", dana.email);
    expect(await markedFields(page)).toEqual([]);
    expect(await fieldError(page, "email")).toBeNull();
    await page.click("#auth-submit");
    await page.locator("#tasks-view").waitFor();
    await page.click("#sign-out");
    await page.locator("#auth-view").waitFor();
  });

  it("puts a malformed email on sign-in (INVALID_EMAIL) under the email field", async () => {
    await signIn(page, { email: "not an address", password: dana.password });
    await expect.poll(() => fieldError(page, "email")).toBe("Enter an email address such as name@example.com.");
    expect((await authRequests[0]!.response())?.status()).toBe(400);
    expect(await markedFields(page)).toEqual(["email"]);
  });

  it("says which fields are empty before sending anything", async () => {
    await toSignUp();
    for (const field of ["#auth-name", "#auth-email", "#auth-password"]) await page.fill(field, "");
    await page.click("#auth-submit");
    await expect.poll(() => markedFields(page)).toEqual(["name", "email", "password"]);
    expect(await fieldError(page, "name")).toBe("Enter your name.");
    expect(await fieldError(page, "email")).toBe("Enter your email address.");
    expect(await fieldError(page, "password")).toBe("Enter your password.");
    expect(authRequests).toHaveLength(0);
  });

  it("holds a short password to the rule before sending, and says the same when the service refuses one", async () => {
    await signUp(page, { name: "Short", email: person("Short").email, password: "7 chars" });
    await expect.poll(() => fieldError(page, "password")).toBe("The password is too short: use at least 8 characters.");
    expect(authRequests).toHaveLength(0);

    // The service's own PASSWORD_TOO_SHORT (Better Auth's minimum), past the page's check.
    await rewriting(page, isSignUp, (body) => ({ ...body, password: "7 chars" }), async () => {
      await page.fill("#auth-password", "long enough for the page");
      await page.click("#auth-submit");
      await expect.poll(() => authRequests.length).toBe(1);
      expect((await authRequests[0]!.response())?.status()).toBe(400);
      await expect.poll(() => fieldError(page, "password")).toBe("The password is too short: use at least 8 characters.");
    });
    expect(await markedFields(page)).toEqual(["password"]);
  });

  it.each([
    ["a 129-character password (PASSWORD_TOO_LONG)", "password", { password: "p".repeat(129) }, "The password is too long: use at most 128 characters."],
    ["a 201-character name (NAME_TOO_LONG)", "name", { name: "n".repeat(201) }, "The name is too long: at most 200 characters."],
    ["a 255-character email (EMAIL_TOO_LONG)", "email", { email: `${"e".repeat(243)}@example.com` }, "The email address is too long: at most 254 characters."],
    ["no name at all (VALIDATION_ERROR [body.name])", "name", { name: undefined }, "Enter your name."],
    ["an empty password (VALIDATION_ERROR [body.password])", "password", { password: "" }, "Enter a password of 8 to 128 characters."],
  ] as const)("shows the service's refusal of %s under the %s field", async (_case, field, change, sentence) => {
    await toSignUp();
    await page.fill("#auth-name", "Eve");
    await page.fill("#auth-email", person("Eve").email);
    await page.fill("#auth-password", "correct horse battery staple");
    await rewriting(page, isSignUp, (body) => ({ ...body, ...change }), async () => {
      await page.click("#auth-submit");
      await expect.poll(() => fieldError(page, field)).toBe(sentence);
    });
    expect((await authRequests[0]!.response())?.status()).toBe(400);
    expect(await markedFields(page)).toEqual([field]);
    expect(await message(page)).toBeNull();
  });

  it("says an account exists under the email field (USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL)", async () => {
    await signUp(page, { ...dana, name: "Dana Again" });
    await expect.poll(() => fieldError(page, "email")).toBe("An account with this email already exists. Sign in instead, or use another email.");
    expect((await authRequests[0]!.response())?.status()).toBe(422);
    expect(await markedFields(page)).toEqual(["email"]);
  });

  it("says a wrong email or password under the password field, marking both (INVALID_EMAIL_OR_PASSWORD)", async () => {
    await signIn(page, { email: dana.email, password: "not the password" });
    await expect.poll(() => fieldError(page, "password")).toBe("Wrong email or password.");
    expect((await authRequests[0]!.response())?.status()).toBe(401);
    expect(await markedFields(page)).toEqual(["email", "password"]);
    await page.fill("#auth-password", dana.password);
    expect(await markedFields(page)).toEqual(["email"]);
    await page.click("#auth-submit");
    await page.locator("#tasks-view").waitFor();
    expect(await message(page)).toBeNull();
  });
});

describe.runIf(chromiumAvailable())("the sign-in rate limit (auth-service in production)", () => {
  let dist: string;
  let stack: Stack;
  let browser: Browser;

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), "web-client-dist-"));
    await buildWebClient(dist);
    stack = await startStack({ webClientDir: dist, authNodeEnv: "production" });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (dist) rmSync(dist, { recursive: true, force: true });
  });

  it("says how long to wait after too many attempts, keeping what was typed", async () => {
    const page = await (await browser.newContext()).newPage();
    await openApp(page, stack.gatewayUrl);
    const statuses: number[] = [];
    page.on("response", (response) => {
      if (isSignIn(new URL(response.url()))) statuses.push(response.status());
    });
    // Three attempts per 10 s are allowed; the fourth is refused 429 with X-Retry-After.
    for (let attempt = 1; attempt <= 4; attempt++) {
      await signIn(page, { email: "nobody@example.test", password: `wrong password ${attempt}` });
      await expect.poll(() => statuses.length).toBe(attempt);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    await expect.poll(() => message(page)).toMatch(/^Too many attempts\. Wait \d+ seconds? and try again\.$/);
    expect(await page.inputValue("#auth-password")).toBe("wrong password 4");
  });
});
