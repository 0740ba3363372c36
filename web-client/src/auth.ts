import { createAuthClient } from "better-auth/client";
import { describeAuthFailure, parseRetryAfter, type AuthFailure } from "./auth-errors.ts";
import { ClientError, networkError } from "./errors.ts";

/** The signed-in user, as the auth-service describes it. */
export interface User {
  readonly id: string;
  readonly name: string;
  readonly email: string;
}

type Settled<T> = { data: T; error: null } | { data: null; error: Omit<AuthFailure, "retryAfterS"> };

/** Per call: reads the rate limiter's `X-Retry-After` off a refused answer. */
interface ErrorContext {
  readonly response: Response;
}

/**
 * Better Auth's browser client, talking to the auth-service through the gateway on this
 * page's own origin (`/api/auth/*`). The session lives in Better Auth's HttpOnly cookie,
 * which page scripts cannot read; this module never sees it.
 */
const client = createAuthClient({
  baseURL: globalThis.location.origin,
  fetchOptions: { credentials: "include" },
});

async function settle<T>(request: (options: { onError: (context: ErrorContext) => void }) => Promise<Settled<T>>): Promise<T> {
  let retryAfterS: number | undefined;
  const onError = (context: ErrorContext) => {
    retryAfterS = parseRetryAfter(context.response.headers.get("x-retry-after"));
  };
  let result: Settled<T>;
  try {
    result = await request({ onError });
  } catch (cause) {
    throw networkError(cause);
  }
  if (result.error) throw describeAuthFailure({ ...result.error, retryAfterS });
  return result.data;
}

export async function signUp(input: { name: string; email: string; password: string }): Promise<User> {
  const data = await settle((options) => client.signUp.email(input, options) as Promise<Settled<{ user: User }>>);
  return pickUser(data.user);
}

export async function signIn(input: { email: string; password: string }): Promise<User> {
  const data = await settle((options) => client.signIn.email(input, options) as Promise<Settled<{ user: User }>>);
  return pickUser(data.user);
}

export async function signOut(): Promise<void> {
  await settle((options) => client.signOut({}, options) as Promise<Settled<unknown>>);
}

/** The user of the current session, or `null` when there is none. */
export async function currentUser(): Promise<User | null> {
  const data = await settle((options) => client.getSession({}, options) as Promise<Settled<{ user: User } | null>>);
  return data ? pickUser(data.user) : null;
}

/**
 * A fresh JWT for the task API, from the auth-service's `/token` (authenticated by the
 * session cookie). Throws `session-ended` when the session is gone.
 */
export async function fetchJwt(): Promise<string> {
  const data = await settle((options) => client.$fetch<{ token: string }>("/token", { method: "GET", ...options }) as Promise<Settled<{ token: string }>>);
  if (typeof data.token !== "string" || data.token === "") throw new ClientError("unexpected", "The sign-in service sent no token.");
  return data.token;
}

function pickUser(user: User): User {
  return { id: user.id, name: user.name, email: user.email };
}
