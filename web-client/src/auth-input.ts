import { EMAIL_TOO_LONG_SENTENCE, NAME_TOO_LONG_SENTENCE, PASSWORD_TOO_LONG_SENTENCE, PASSWORD_TOO_SHORT_SENTENCE } from "./auth-errors.ts";
import { ClientError, type FieldName } from "./errors.ts";
import { EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./limits.ts";

/**
 * What the page checks before sending a sign-up or sign-in: every field filled, and the
 * auth-service's length limits (the password's on sign-up only: signing in with an old,
 * shorter password must still reach the service). The shape of an email address is left to
 * the service, which knows what it accepts; its answer is put into words by auth-errors.ts.
 * Lengths count UTF-16 units, as the service's `String.length` checks do.
 */
export function checkAuthInput(
  mode: "sign-in" | "sign-up",
  input: { readonly name: string; readonly email: string; readonly password: string },
): ClientError | undefined {
  const fields: Partial<Record<FieldName, string>> = {};
  if (mode === "sign-up") {
    if (input.name === "") fields.name = "Enter your name.";
    else if (input.name.length > NAME_MAX_LENGTH) fields.name = NAME_TOO_LONG_SENTENCE;
  }
  if (input.email === "") fields.email = "Enter your email address.";
  else if (input.email.length > EMAIL_MAX_LENGTH) fields.email = EMAIL_TOO_LONG_SENTENCE;
  if (input.password === "") fields.password = "Enter your password.";
  else if (input.password.length > PASSWORD_MAX_LENGTH) fields.password = PASSWORD_TOO_LONG_SENTENCE;
  else if (mode === "sign-up" && input.password.length < PASSWORD_MIN_LENGTH) fields.password = PASSWORD_TOO_SHORT_SENTENCE;
  const sentences = Object.values(fields);
  return sentences.length === 0 ? undefined : new ClientError("invalid-input", sentences.join(" "), { fields });
}
