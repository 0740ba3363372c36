import { ForbiddenError } from "../errors.ts";
import type { VerifiedToken } from "../auth/verifier.ts";
import { decodeSegment } from "./guard.ts";
import type { RouteMatch } from "./match.ts";

/**
 * The ownership rule (CONTRACT §5): the path parameter, percent-decoded, must equal the claim
 * exactly (case-sensitive). Routes without a rule need only a valid token.
 */
export function authorize(match: RouteMatch, identity: VerifiedToken): void {
  const owner = match.route.spec.owner;
  if (owner === undefined) return;
  const claim = owner.claim === "sub" ? identity.sub : identity.claims[owner.claim];
  const raw = match.params[owner.param];
  if (typeof claim !== "string" || raw === undefined || decodeSegment(raw) !== claim) {
    throw new ForbiddenError("the token does not grant access to this resource");
  }
}
