/**
 * The header sets every part of the gateway agrees on, defined once: the route-file validator
 * (which headers a claim mapping may not set), the request mutator (which client headers never
 * reach an upstream) and the forwarder (which answer headers never reach a client). Names are
 * lower case.
 */

/** RFC 9110 §7.6.1 connection-specific fields, plus the non-standard ones proxies still see. */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
  // Credentials for the proxy itself (RFC 9110 §11.7.2): consumed by the first hop.
  "proxy-authorization",
]);

/** Framing and routing of the message itself: the gateway computes these for each hop. */
export const FRAMING_HEADERS: ReadonlySet<string> = new Set(["host", "content-length", "expect"]);

/**
 * Identity and provenance: only the gateway may tell an upstream who is calling and from where
 * ("scrub before you set"). Every client copy is removed, then the gateway sets its own.
 */
export const IDENTITY_HEADERS: ReadonlySet<string> = new Set([
  "x-user-id", "x-request-id", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
  // Other client-asserted provenance: the gateway's X-Forwarded-* say the same, truthfully.
  "x-real-ip", "forwarded", "x-client-ip", "true-client-ip", "cf-connecting-ip", "x-cluster-client-ip",
  // What other identity proxies tell their upstreams (oauth2-proxy, Kong, Apache, ...): an
  // upstream built for one of them trusts these as the caller.
  "remote-user", "x-remote-user", "x-user", "x-username", "x-email", "x-authenticated-user", "x-authenticated-userid",
  "x-userinfo", "x-jwt-payload", "x-id-token", "x-access-token",
]);

/**
 * Name prefixes of identity and provenance headers, for the families above: every client
 * `X-Forwarded-*` (the gateway sets its own three), oauth2-proxy's `X-Auth-Request-*`, Kong's
 * `X-Consumer-*` / `X-Credential-*`, cloud load balancers' identity headers.
 */
export const IDENTITY_HEADER_PREFIXES: readonly string[] = [
  "x-forwarded-", "x-auth-request-", "x-consumer-", "x-credential-", "x-amzn-oidc-", "x-ms-client-principal",
  "x-goog-authenticated-user-", "cf-access-",
];

/**
 * Headers some upstream frameworks honour to change the path, method or base they route by
 * (IIS / Symfony / Laravel / Spring / Express method-override and rewrite conventions). The
 * gateway authorizes one method and one target; none of these may steer the upstream elsewhere.
 */
export const ROUTING_OVERRIDE_HEADERS: ReadonlySet<string> = new Set([
  "x-original-url", "x-rewrite-url", "x-original-uri", "x-original-path", "x-forwarded-uri", "x-forwarded-path",
  "x-forwarded-prefix", "x-forwarded-port", "x-forwarded-server", "x-forwarded-scheme", "x-forwarded-ssl",
  "x-url-scheme", "x-scheme", "front-end-https", "x-original-host", "x-host", "x-http-host-override",
  "x-http-method-override", "x-http-method", "x-method-override", "x-original-method",
  "x-envoy-original-path", "x-envoy-original-url",
]);

/** Every header a client sends that never reaches an upstream as sent (with {@link IDENTITY_HEADER_PREFIXES}). */
export const NEVER_FORWARDED_HEADERS: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP_HEADERS, ...FRAMING_HEADERS, ...IDENTITY_HEADERS, ...ROUTING_OVERRIDE_HEADERS,
]);

/** True for a header a client may never send an upstream (lower-case name). */
export function isNeverForwarded(name: string): boolean {
  if (NEVER_FORWARDED_HEADERS.has(name)) return true;
  if (name.charCodeAt(0) !== 0x78 /* x */ && name.charCodeAt(0) !== 0x63 /* c */) return false;
  for (const prefix of IDENTITY_HEADER_PREFIXES) if (name.startsWith(prefix)) return true;
  return false;
}

/**
 * Headers a route's claim mapping may not set: everything the gateway owns or scrubs, and the
 * credentials it forwards or mints.
 */
export const GATEWAY_OWNED_HEADERS: ReadonlySet<string> = new Set([...NEVER_FORWARDED_HEADERS, "authorization", "cookie"]);

/** True for a header a route's claim mapping may not set (lower-case name). */
export function isGatewayOwned(name: string): boolean {
  return GATEWAY_OWNED_HEADERS.has(name) || isNeverForwarded(name);
}

/** Answer headers that belong to the upstream hop only; never passed to the client. */
export const HOP_BY_HOP_RESPONSE_HEADERS: ReadonlySet<string> = HOP_BY_HOP_HEADERS;

/**
 * CGI-style servers read `X_User_Id` as `X-User-Id`: a header whose name differs from a
 * protected one only by `_` for `-` is treated as that header.
 */
export function dashed(name: string): string {
  return name.includes("_") ? name.replaceAll("_", "-") : name;
}

/**
 * Better Auth's cookies (`better-auth.session_token`, `…session_data`, `…dont_remember`, with a
 * `__Secure-` / `__Host-` prefix under https). They are the auth-service's credentials: no other
 * upstream ever needs them, and one that logged or leaked them would hand out sessions.
 */
const AUTH_SERVICE_COOKIE = /^"?(?:__Secure-|__Host-)?better-auth\./i;

export function isAuthServiceCookie(name: string): boolean {
  return AUTH_SERVICE_COOKIE.test(name.trim());
}
