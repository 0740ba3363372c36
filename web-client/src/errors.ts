/**
 * Every failure the page can show, as one class with a stable `code`. The message is the
 * sentence the user reads; the code is what the page (and the tests) act on.
 */
export type ClientErrorCode =
  | "network" //            no answer at all (offline, server down, connection refused)
  | "session-ended" //      no session any more: signed out, expired or revoked
  | "wrong-credentials" //  sign-in with a wrong email or password
  | "account-exists" //     sign-up with an email that already has an account
  | "invalid-input" //      the input was refused (client-side check or a 400 / 422)
  | "forbidden" //          403 from the gateway
  | "not-found" //          the task is gone
  | "unavailable" //        502 / 503 / 504 or a 5xx from a service
  | "unexpected"; //        anything else

export class ClientError extends Error {
  override readonly name = "ClientError";

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const NETWORK_MESSAGE = "Cannot reach the server. Check your connection and try again.";
export const SESSION_ENDED_MESSAGE = "Your session has ended. Sign in again; what you typed is kept.";

/** `fetch` rejects only when no response arrived at all: that is a network failure. */
export function networkError(cause: unknown): ClientError {
  return new ClientError("network", NETWORK_MESSAGE, { cause });
}

export function unavailable(status: number, what: string): ClientError {
  return new ClientError("unavailable", `The ${what} is not answering right now (HTTP ${status}). Try again shortly.`);
}
