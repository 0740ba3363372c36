import type { VerifiedToken } from "../auth/verifier.ts";
import type { ActiveRouteTable } from "../active-route-table.ts";
import type { GatewayError } from "../errors.ts";
import type { ResolvedClient } from "./client-address.ts";
import type { RouteMatch } from "./match.ts";

/**
 * What happened to one request, written by the pipeline (pipeline/index.ts) as it goes and
 * read once it is over by the recorder (metrics and the access line) and the target handlers.
 * A refused request keeps what was learned before the refusal (its route, the caller).
 */
export interface Outcome {
  readonly requestId: string;
  readonly method: string;
  /** `performance.now()` when the gateway took the request. */
  readonly startedAt: number;
  /** Who sent it (TRUSTED_PROXIES applied): rate limits and logs use its address. */
  client: ResolvedClient | undefined;
  /** The table this request is served by, even if a reload swaps it meanwhile. */
  table: ActiveRouteTable | undefined;
  match: RouteMatch | undefined;
  identity: VerifiedToken | undefined;
  /** How the token was checked: from the verified-token cache, or by a signature check. */
  token: "cache" | "signature" | undefined;
  /** Why the request was refused (or failed upstream), once it is. */
  refusal: GatewayError | undefined;
}

export function newOutcome(requestId: string, method: string): Outcome {
  return {
    requestId, method, startedAt: performance.now(),
    client: undefined, table: undefined, match: undefined, identity: undefined, token: undefined, refusal: undefined,
  };
}
