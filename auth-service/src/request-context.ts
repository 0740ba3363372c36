import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Per-request state shared between the HTTP layer and Better Auth's callbacks. Better Auth
 * swallows some internal failures: a session lookup that throws (database gone) is read as
 * "no session" and answered 401. It logs the error first, so its logger marks the request,
 * and the HTTP layer turns that 401 into a 503 instead of telling a signed-in user they are not.
 */
export interface RequestState {
  /** The request's id (the gateway's X-Request-Id): every log line written meanwhile carries it. */
  readonly requestId: string;
  internalError: boolean;
}

const storage = new AsyncLocalStorage<RequestState>();

/** Runs one request's handling with its state, which every callback within can reach. */
export function runWithRequestState<T>(requestId: string, fn: (state: RequestState) => T): T {
  const state: RequestState = { requestId, internalError: false };
  return storage.run(state, () => fn(state));
}

/** The id of the request being handled, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

export function markInternalError(): void {
  const state = storage.getStore();
  if (state !== undefined) state.internalError = true;
}
