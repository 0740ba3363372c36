import { createAuthClient } from "better-auth/client";
import { ClientError, networkError, SESSION_ENDED_MESSAGE, unavailable } from "./errors.ts";

/** The signed-in user, as the auth-service describes it. */
export interface User {
  readonly id: string;
  readonly name: string;
  readonly email: string;
}

/** What Better Auth's client returns instead of throwing (it throws only when nothing answered). */
interface FetchError {
  readonly status: number;
  readonly code?: string | undefined;
  readonly message?: string | undefined;
}
type Settled<T> = { data: T; error: null } | { data: null; error: FetchError };

/**
 * Better Auth's browser client, talking to the auth-service through the gateway on this
 * page's own origin (`/api/auth/*`). The session lives in Better Auth's HttpOnly cookie,
 * which page scripts cannot read; this module never sees it.
 */
const client = createAuthClient({
  baseURL: globalThis.location.origin,
  fetchOptions: { credentials: "include" },
});

async function settle<T>(request: () => Promise<Settled<T>>): Promise<T> {
  let result: Settled<T>;
  try {
    result = await request();
  } catch (cause) {
    throw networkError(cause);
  }
  if (result.error) throw describeAuthFailure(result.error);
  return result.data;
}

/** Maps Better Auth's error answers to sentences a person can act on. */
export function describeAuthFailure(error: FetchError): ClientError {
  const { status, code } = error;
  if (code === "INVALID_EMAIL_OR_PASSWORD") return new ClientError("wrong-credentials", "Wrong email or password.");
  if (code?.startsWith("USER_ALREADY_EXISTS")) {
    return new ClientError("account-exists", "An account with this email already exists. Sign in instead, or use another email.");
  }
  if (code === "PASSWORD_TOO_SHORT") return new ClientError("invalid-input", "The password is too short: use at least 8 characters.");
  if (code === "PASSWORD_TOO_LONG") return new ClientError("invalid-input", "The password is too long.");
  if (code === "INVALID_EMAIL") return new ClientError("invalid-input", "That email address does not look right.");
  if (status === 401) return new ClientError("session-ended", SESSION_ENDED_MESSAGE);
  if (status === 429) return new ClientError("invalid-input", "Too many attempts. Wait a few seconds and try again.");
  if (status >= 500 || status === 0) return unavailable(status, "sign-in service");
  const detail = error.message ? `: ${error.message}` : "";
  return new ClientError("unexpected", `The sign-in service refused the request (HTTP ${status})${detail}.`);
}

export async function signUp(input: { name: string; email: string; password: string }): Promise<User> {
  const data = await settle(() => client.signUp.email(input) as Promise<Settled<{ user: User }>>);
  return pickUser(data.user);
}

export async function signIn(input: { email: string; password: string }): Promise<User> {
  const data = await settle(() => client.signIn.email(input) as Promise<Settled<{ user: User }>>);
  return pickUser(data.user);
}

export async function signOut(): Promise<void> {
  await settle(() => client.signOut() as Promise<Settled<unknown>>);
}

/** The user of the current session, or `null` when there is none. */
export async function currentUser(): Promise<User | null> {
  const data = await settle(() => client.getSession() as Promise<Settled<{ user: User } | null>>);
  return data ? pickUser(data.user) : null;
}

/**
 * A fresh JWT for the task API, from the auth-service's `/token` (authenticated by the
 * session cookie). Throws `session-ended` when the session is gone.
 */
export async function fetchJwt(): Promise<string> {
  const data = await settle(() => client.$fetch<{ token: string }>("/token", { method: "GET" }) as Promise<Settled<{ token: string }>>);
  if (typeof data.token !== "string" || data.token === "") throw new ClientError("unexpected", "The sign-in service sent no token.");
  return data.token;
}

function pickUser(user: User): User {
  return { id: user.id, name: user.name, email: user.email };
}
