/**
 * RFC 7518 §3.2: an HMAC key must be at least as long as the hash output (32 bytes for HS256).
 * The one minimum for every secret the stack signs or verifies with: the gateway's HS* key,
 * a route's minting key and the auth-service's secret.
 */
export const MIN_HMAC_SECRET_BYTES = 32;
