import { InvalidTokenError } from "../errors.ts";

/**
 * A value the gateway will put in a header for an upstream: visible ASCII with inner spaces,
 * nothing at either end. Not obs-text (0x80-0xFF): an upstream decoding the header as UTF-8
 * would read `Ã©` as `é` (another user), and one that trims reads `alice\u00a0` as `alice`. One
 * rule for `sub` (X-User-Id) and every mapped claim.
 */
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

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
