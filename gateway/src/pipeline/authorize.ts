import { ForbiddenError } from "../errors.ts";
import type { VerifiedToken } from "../auth/verifier.ts";
import { decodeSegment } from "./guard.ts";
import type { RouteMatch } from "./match.ts";

/**
 * The route's rules on a verified token: required claims (equal to one of the listed values,
 * or, for an array claim such as scopes, containing one), then ownership (docs/behaviour.md §5.1): the
 * path parameter, percent-decoded, must equal the claim exactly (case-sensitive).
 */
export function authorize(match: RouteMatch, identity: VerifiedToken): void {
  const { owner, requiredClaims } = match.route.spec;
  if (requiredClaims !== undefined) {
    for (const claim in requiredClaims) {
      const value = identity.claims[claim];
      const allowed = requiredClaims[claim]!;
      const ok = Array.isArray(value) ? value.some((v) => allowed.includes(v)) : allowed.includes(value as never);
      if (!ok) throw new ForbiddenError("the token lacks a claim this route requires");
    }
  }
  if (owner === undefined) return;
  const claim = owner.claim === "sub" ? identity.sub : identity.claims[owner.claim];
  const raw = match.params[owner.param];
  if (typeof claim !== "string" || raw === undefined || decodeSegment(raw) !== claim) {
    throw new ForbiddenError("the token does not grant access to this resource");
  }
}
