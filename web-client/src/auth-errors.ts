import { ClientError, fieldError, SESSION_ENDED_MESSAGE, unavailable, type FieldName } from "./errors.ts";
import { EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./limits.ts";

/** What Better Auth's client returns instead of throwing (it throws only when nothing answered). */
export interface AuthFailure {
  readonly status: number;
  readonly code?: string | undefined;
  readonly message?: string | undefined;
  /** Seconds from the rate limiter's `X-Retry-After`, when the answer had one. */
  readonly retryAfterS?: number | undefined;
}

export const EMAIL_SHAPE_SENTENCE = "Enter an email address such as name@example.com.";
export const WRONG_CREDENTIALS_SENTENCE = "Wrong email or password.";
export const ACCOUNT_EXISTS_SENTENCE = "An account with this email already exists. Sign in instead, or use another email.";
export const PASSWORD_TOO_SHORT_SENTENCE = `The password is too short: use at least ${PASSWORD_MIN_LENGTH} characters.`;
export const PASSWORD_TOO_LONG_SENTENCE = `The password is too long: use at most ${PASSWORD_MAX_LENGTH} characters.`;
export const EMAIL_TOO_LONG_SENTENCE = `The email address is too long: at most ${EMAIL_MAX_LENGTH} characters.`;
export const NAME_TOO_LONG_SENTENCE = `The name is too long: at most ${NAME_MAX_LENGTH} characters.`;

/**
 * Every error answer of Better Auth 1.7.25's `/sign-up/email` and `/sign-in/email` (and the
 * auth-service's own length checks in front of them), as a sentence for the field it concerns.
 * Codes, from better-auth's `api/routes/sign-up.ts`, `sign-in.ts`, `utils/password.ts`,
 * better-call's body validation and the rate limiter:
 *
 * | answer | field |
 * |---|---|
 * | 400 `VALIDATION_ERROR` `[body.email] Invalid email address` (sign-up's `z.email()`), `[body.password] …`, `[body.name] …`, joined by `; ` | each field named |
 * | 400 `INVALID_EMAIL` (sign-in's own check) | email |
 * | 400 `INVALID_PASSWORD` | password |
 * | 400 `PASSWORD_TOO_SHORT` / `PASSWORD_TOO_LONG` | password |
 * | 400 `EMAIL_TOO_LONG` / `NAME_TOO_LONG` (the auth-service's checks) | email / name |
 * | 401 `INVALID_EMAIL_OR_PASSWORD` | password (email marked too: either may be wrong) |
 * | 422 `USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL` / `USER_ALREADY_EXISTS` | email |
 * | 403 `EMAIL_NOT_VERIFIED` | email |
 * | 422 `FAILED_TO_CREATE_USER`, 400/401 `FAILED_TO_CREATE_SESSION` | none: try again |
 * | 400 `EMAIL_PASSWORD_SIGN_UP_DISABLED` / `EMAIL_PASSWORD_DISABLED` | none |
 * | 403 `MISSING_OR_NULL_ORIGIN` / `INVALID_ORIGIN` / `CROSS_SITE_NAVIGATION_LOGIN_BLOCKED` | none |
 * | 429 (`X-Retry-After: <s>`) | none: wait |
 */
export function describeAuthFailure(failure: AuthFailure): ClientError {
  const { status, code } = failure;
  switch (code) {
    case "VALIDATION_ERROR":
      return describeValidationError(failure.message ?? "");
    case "INVALID_EMAIL":
      return fieldError("invalid-input", "email", EMAIL_SHAPE_SENTENCE);
    case "INVALID_PASSWORD":
      return fieldError("invalid-input", "password", "Enter your password.");
    case "PASSWORD_TOO_SHORT":
      return fieldError("invalid-input", "password", PASSWORD_TOO_SHORT_SENTENCE);
    case "PASSWORD_TOO_LONG":
      return fieldError("invalid-input", "password", PASSWORD_TOO_LONG_SENTENCE);
    case "EMAIL_TOO_LONG":
      return fieldError("invalid-input", "email", EMAIL_TOO_LONG_SENTENCE);
    case "NAME_TOO_LONG":
      return fieldError("invalid-input", "name", NAME_TOO_LONG_SENTENCE);
    case "INVALID_EMAIL_OR_PASSWORD":
      return fieldError("wrong-credentials", "password", WRONG_CREDENTIALS_SENTENCE, ["email"]);
    case "USER_ALREADY_EXISTS":
    case "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL":
      return fieldError("account-exists", "email", ACCOUNT_EXISTS_SENTENCE);
    case "EMAIL_NOT_VERIFIED":
      return fieldError("refused", "email", "This email address is not confirmed yet: follow the link in the confirmation email first.");
    case "FAILED_TO_CREATE_USER":
      return new ClientError("unavailable", "The account could not be created just now. Try again shortly.");
    case "FAILED_TO_CREATE_SESSION":
      return new ClientError("unavailable", "You could not be signed in just now. Try again shortly.");
    case "EMAIL_PASSWORD_SIGN_UP_DISABLED":
      return new ClientError("refused", "New accounts cannot be created here. Sign in with an existing account.");
    case "EMAIL_PASSWORD_DISABLED":
      return new ClientError("refused", "Signing in with an email and a password is turned off on this server.");
    case "MISSING_OR_NULL_ORIGIN":
    case "INVALID_ORIGIN":
    case "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED":
      return new ClientError("refused", "The sign-in service does not accept requests from this page's address. Open the app from the gateway's own address.");
  }
  if (status === 429) {
    const wait = failure.retryAfterS !== undefined && failure.retryAfterS > 0 ? `${failure.retryAfterS} second${failure.retryAfterS === 1 ? "" : "s"}` : "a few seconds";
    return new ClientError("too-many-attempts", `Too many attempts. Wait ${wait} and try again.`);
  }
  if (status === 401) return new ClientError("session-ended", SESSION_ENDED_MESSAGE);
  if (status >= 500 || status === 0) return unavailable(status, "sign-in service");
  const detail = failure.message ? `: ${failure.message}` : "";
  return new ClientError("unexpected", `The sign-in service refused the request (HTTP ${status})${detail}.`);
}

/**
 * better-call's body validation: `[body.email] Invalid email address; [body.password] …`. Each
 * entry names its field; an entry about another field (or the whole body) is a page bug, said
 * as it is.
 */
function describeValidationError(message: string): ClientError {
  const fields: Partial<Record<FieldName, string>> = {};
  const others: string[] = [];
  for (const entry of message.split("; ").filter(Boolean)) {
    const match = /^\[body\.(\w+)\]/.exec(entry);
    const field = match?.[1];
    if (field === "email") fields.email ??= EMAIL_SHAPE_SENTENCE;
    else if (field === "password") fields.password ??= `Enter a password of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters.`;
    else if (field === "name") fields.name ??= "Enter your name.";
    else others.push(entry);
  }
  if (others.length > 0) return new ClientError("unexpected", `The sign-in service refused the request: ${others.join("; ")}.`);
  const sentences = Object.values(fields).filter(Boolean);
  if (sentences.length === 0) return new ClientError("invalid-input", "The sign-in service refused what was entered.");
  return new ClientError("invalid-input", sentences.join(" "), { fields });
}

/** The rate limiter's `X-Retry-After` (seconds), if it is a sane number. */
export function parseRetryAfter(header: string | null): number | undefined {
  if (header === null || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Number(header.trim());
}
