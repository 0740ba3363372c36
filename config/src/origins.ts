/**
 * Web origins (RFC 6454), read one way everywhere: CORS_ORIGINS, TRUSTED_ORIGINS, the default
 * `iss` / `aud` (the auth-service's origin), and which upstream is the auth-service.
 */

/** The origin of an absolute URL (`scheme://host[:port]`), or `undefined` when it has none. */
export function originOf(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
}

/** Reads an item that must be an origin only: `"not-origin"` or `"has-path"` when it is not. */
export function parseOrigin(item: string): { readonly origin: string } | "not-origin" | "has-path" {
  let url: URL;
  try {
    url = new URL(item);
  } catch {
    return "not-origin";
  }
  if (item.includes("*") || (url.protocol !== "http:" && url.protocol !== "https:") || url.origin === "null") return "not-origin";
  if (url.pathname !== "/" || url.search || url.hash || url.username) return "has-path";
  return { origin: url.origin };
}

/** `http://127.0.0.1:8080` ↔ `http://localhost:8080`: a browser may use either name. */
export function loopbackTwin(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    if (url.hostname === "127.0.0.1") url.hostname = "localhost";
    else if (url.hostname === "localhost") url.hostname = "127.0.0.1";
    else return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}
