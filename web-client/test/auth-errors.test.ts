/**
 * Every error answer of Better Auth's sign-up and sign-in, as the page words it: the sentence,
 * the field it goes under, and the fields marked. The browser tests show the real answers; this
 * covers the ones a browser test cannot provoke (a disabled sign-up, an origin refusal, a
 * database failure) and holds the page's limits to the auth-service's.
 */
import { describe, expect, it } from "vitest";
import { MAX_EMAIL_LENGTH, MAX_NAME_LENGTH, MAX_PASSWORD_LENGTH } from "../../auth-service/src/auth.ts";
import { describeAuthFailure, parseRetryAfter } from "../src/auth-errors.ts";
import { checkAuthInput } from "../src/auth-input.ts";
import { EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, PASSWORD_RULE } from "../src/limits.ts";

const described = (status: number, code?: string, message?: string, retryAfterS?: number) => {
  const error = describeAuthFailure({ status, code, message, retryAfterS });
  return { code: error.code, message: error.message, fields: error.fields };
};

describe("describeAuthFailure", () => {
  it.each([
    [400, "VALIDATION_ERROR", "[body.email] Invalid email address", { email: "Enter an email address such as name@example.com." }],
    [400, "VALIDATION_ERROR", "[body.name] Invalid input: expected string, received undefined", { name: "Enter your name." }],
    [400, "VALIDATION_ERROR", "[body.password] Too small: expected string to have >=1 characters", { password: "Enter a password of 8 to 128 characters." }],
    [400, "VALIDATION_ERROR", "[body.name] Invalid input; [body.email] Invalid email address", { name: "Enter your name.", email: "Enter an email address such as name@example.com." }],
    [400, "INVALID_EMAIL", "Invalid email", { email: "Enter an email address such as name@example.com." }],
    [400, "INVALID_PASSWORD", "Invalid password", { password: "Enter your password." }],
    [400, "PASSWORD_TOO_SHORT", "Password too short", { password: "The password is too short: use at least 8 characters." }],
    [400, "PASSWORD_TOO_LONG", "Password too long", { password: "The password is too long: use at most 128 characters." }],
    [400, "EMAIL_TOO_LONG", "Email is too long (at most 254 characters)", { email: "The email address is too long: at most 254 characters." }],
    [400, "NAME_TOO_LONG", "Name is too long (at most 200 characters)", { name: "The name is too long: at most 200 characters." }],
    [401, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password", { password: "Wrong email or password.", email: "" }],
    [422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "User already exists. Use another email.", { email: "An account with this email already exists. Sign in instead, or use another email." }],
    [422, "USER_ALREADY_EXISTS", "User already exists.", { email: "An account with this email already exists. Sign in instead, or use another email." }],
    [403, "EMAIL_NOT_VERIFIED", "Email not verified", { email: "This email address is not confirmed yet: follow the link in the confirmation email first." }],
  ])("words %i %s under its field", (status, code, message, fields) => {
    const error = described(status, code, message);
    expect(error.fields).toEqual(fields);
    expect(error.message).toBe(Object.values(fields).filter(Boolean).join(" "));
  });

  it.each([
    [422, "FAILED_TO_CREATE_USER", "unavailable", "The account could not be created just now. Try again shortly."],
    [400, "FAILED_TO_CREATE_SESSION", "unavailable", "You could not be signed in just now. Try again shortly."],
    [400, "EMAIL_PASSWORD_SIGN_UP_DISABLED", "refused", "New accounts cannot be created here. Sign in with an existing account."],
    [400, "EMAIL_PASSWORD_DISABLED", "refused", "Signing in with an email and a password is turned off on this server."],
    [403, "MISSING_OR_NULL_ORIGIN", "refused", "The sign-in service does not accept requests from this page's address. Open the app from the gateway's own address."],
    [403, "INVALID_ORIGIN", "refused", "The sign-in service does not accept requests from this page's address. Open the app from the gateway's own address."],
    [403, "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED", "refused", "The sign-in service does not accept requests from this page's address. Open the app from the gateway's own address."],
    [502, undefined, "unavailable", "The sign-in service is not answering right now (HTTP 502). Try again shortly."],
    [418, "SOMETHING_NEW", "unexpected", "The sign-in service refused the request (HTTP 418): Something new."],
  ])("words %i %s for the whole form", (status, code, kind, sentence) => {
    const error = described(status, code, code === "SOMETHING_NEW" ? "Something new" : undefined);
    expect(error).toEqual({ code: kind, message: sentence, fields: {} });
  });

  it("says how long to wait on 429, from X-Retry-After when there is one", () => {
    expect(described(429, undefined, "Too many requests. Please try again later.", 7).message).toBe("Too many attempts. Wait 7 seconds and try again.");
    expect(described(429, undefined, "Too many requests. Please try again later.", 1).message).toBe("Too many attempts. Wait 1 second and try again.");
    expect(described(429).message).toBe("Too many attempts. Wait a few seconds and try again.");
    expect(parseRetryAfter("10")).toBe(10);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it("reports validation of an unknown body field as it is, not as a field of the form", () => {
    expect(described(400, "VALIDATION_ERROR", "[body] Invalid input: expected object, received undefined")).toEqual({
      code: "unexpected", message: "The sign-in service refused the request: [body] Invalid input: expected object, received undefined.", fields: {},
    });
  });
});

describe("checkAuthInput", () => {
  const good = { name: "Ada", email: "ada@example.com", password: "correct horse battery" };

  it("passes a filled form and checks the password's length on sign-up only", () => {
    expect(checkAuthInput("sign-up", good)).toBeUndefined();
    expect(checkAuthInput("sign-in", { ...good, password: "short" })).toBeUndefined();
    expect(checkAuthInput("sign-up", { ...good, password: "short" })?.fields).toEqual({ password: "The password is too short: use at least 8 characters." });
    expect(checkAuthInput("sign-in", { ...good, password: "p".repeat(129) })?.fields).toEqual({ password: "The password is too long: use at most 128 characters." });
  });

  it("names every empty field at once, and asks no name on sign-in", () => {
    expect(checkAuthInput("sign-up", { name: "", email: "", password: "" })?.fields).toEqual({
      name: "Enter your name.", email: "Enter your email address.", password: "Enter your password.",
    });
    expect(checkAuthInput("sign-in", { name: "", email: "a@b.c", password: "x" })).toBeUndefined();
  });
});

describe("the page's limits", () => {
  it("are the auth-service's", () => {
    expect(PASSWORD_MAX_LENGTH).toBe(MAX_PASSWORD_LENGTH);
    expect(EMAIL_MAX_LENGTH).toBe(MAX_EMAIL_LENGTH);
    expect(NAME_MAX_LENGTH).toBe(MAX_NAME_LENGTH);
    // Better Auth's default minimum, which the auth-service keeps (auth-forms.test.ts sees the service refuse 7).
    expect(PASSWORD_MIN_LENGTH).toBe(8);
    expect(PASSWORD_RULE).toMatch(/^8 to 128 characters\./);
  });
});
