/**
 * The limits the page states and checks before sending, so a person learns them before
 * failing them. They are the auth-service's own (`auth-service/src/auth.ts`: Better Auth's
 * minimum password length, 8, and the service's maxima); the task limits live in `api.ts`. `test/limits.test.ts` holds them to those sources.
 */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;
export const EMAIL_MAX_LENGTH = 254;
export const NAME_MAX_LENGTH = 200;

/** The password rule, as the sign-up form states it before anything is sent. */
export const PASSWORD_RULE = `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters. A few unrelated words are easy to remember and hard to guess.`;
