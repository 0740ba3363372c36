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
  | "too-many-attempts" //  429 from the sign-in service's rate limit
  | "refused" //            the service refused for a reason the user cannot fix (origin, sign-up turned off)
  | "forbidden" //          403 from the gateway
  | "not-found" //          the task is gone
  | "unavailable" //        502 / 503 / 504 or a 5xx from a service
  | "unexpected"; //        anything else

/** The form fields a failure can be about. */
export type FieldName = "name" | "email" | "password" | "title" | "description";

/**
 * Per field, the sentence to show next to it; an empty string marks the field without a
 * sentence of its own (a wrong email *or* password marks both, says it once).
 */
export type FieldProblems = Readonly<Partial<Record<FieldName, string>>>;

export class ClientError extends Error {
  override readonly name = "ClientError";
  /** The fields this failure is about, when it is about fields; the page marks them. */
  readonly fields: FieldProblems;

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options?: { cause?: unknown; fields?: FieldProblems },
  ) {
    super(message, options);
    this.fields = options?.fields ?? {};
  }
}

/** A failure about one field: its sentence is the message too. */
export function fieldError(code: ClientErrorCode, field: FieldName, sentence: string, marked: readonly FieldName[] = []): ClientError {
  const fields: Partial<Record<FieldName, string>> = { [field]: sentence };
  for (const other of marked) fields[other] ??= "";
  return new ClientError(code, sentence, { fields });
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
