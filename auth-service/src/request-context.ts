import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Per-request state shared between the HTTP layer and Better Auth's callbacks. Better Auth
 * swallows some internal failures: a session lookup that throws (database gone) is read as
 * "no session" and answered 401. It logs the error first, so its logger marks the request,
 * and the HTTP layer turns that 401 into a 503 instead of telling a signed-in user they are not.
 */
export interface RequestState {
  internalError: boolean;
}

const storage = new AsyncLocalStorage<RequestState>();

export function runWithRequestState<T>(fn: () => T): { state: RequestState; result: T } {
  const state: RequestState = { internalError: false };
  return { state, result: storage.run(state, fn) };
}

export function markInternalError(): void {
  const state = storage.getStore();
  if (state !== undefined) state.internalError = true;
}
