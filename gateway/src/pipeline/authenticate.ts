import type { TokenVerifier, VerifiedToken } from "../auth/verifier.ts";
import type { Outcome } from "./outcome.ts";

/**
 * The caller behind a bearer token: a verdict from the verified-token cache when there is a
 * current one, else a full verification (signature, claims) that is cached for next time.
 * Throws the token's typed refusal.
 */
export async function authenticate(verifier: TokenVerifier, token: string, outcome: Outcome): Promise<VerifiedToken> {
  const cached = verifier.cached(token);
  if (cached !== undefined) {
    outcome.token = "cache";
    return cached;
  }
  outcome.token = "signature";
  return verifier.verify(token);
}
