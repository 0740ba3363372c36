import { InvalidTokenError } from "../errors.ts";

/**
 * An RFC 9110 field value the gateway will put in a header for an upstream: visible ASCII and
 * obs-text (Latin-1), inner spaces or tabs, and nothing at either end, so no upstream can read
 * it differently after trimming. One rule for `sub` (X-User-Id) and every mapped claim.
 */
const HEADER_SAFE = /^[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?$/;

export function isHeaderSafeClaim(value: string): boolean {
  return HEADER_SAFE.test(value);
}

/**
 * RFC 7519 §2 NumericDate: a finite number. JSON.parse reads `1e400` as Infinity, which passes
 * every comparison jose makes (an `exp` that never comes), so a non-finite date fails the token.
 */
export function checkNumericDates(payload: Readonly<Record<string, unknown>>): void {
  for (const claim of ["exp", "nbf", "iat"] as const) {
    const value = payload[claim];
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value))) {
      throw new InvalidTokenError(`invalid ${claim} claim`);
    }
  }
}
