import type { IncomingMessage } from "node:http";

/**
 * Request headers the gateway never passes on as the client sent them: hop-by-hop headers
 * (RFC 9110 §7.6.1), framing it recomputes, and every header that carries identity or
 * provenance, which only the gateway may set ("scrub before you set").
 */
const NEVER_FORWARDED = new Set([
  "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
  "host", "content-length", "expect", "proxy-authorization",
  "x-user-id", "x-request-id", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
]);

export interface UpstreamIdentity {
  readonly userId: string | undefined;
  readonly requestId: string;
}

/**
 * Builds the upstream request headers as a flat `[name, value, ...]` list from the raw client
 * headers (so repeated headers stay separate), then appends the gateway's own. Names listed in
 * the client's `Connection` header are dropped before, never after, the gateway's are added.
 */
export function upstreamHeaders(
  req: IncomingMessage,
  identity: UpstreamIdentity,
  options: { stripAuthorization: boolean; bodyLength: number | undefined },
): string[] {
  const raw = req.rawHeaders;
  const connectionListed = connectionTokens(req.headers.connection);
  const out: string[] = [];
  let forwardedFor = "";
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (NEVER_FORWARDED.has(name)) {
      if (name === "x-forwarded-for") forwardedFor = forwardedFor === "" ? value : `${forwardedFor}, ${value}`;
      else if (name === "host" && host === undefined) host = value;
      continue;
    }
    if (connectionListed !== undefined && connectionListed.has(name)) continue;
    if (options.stripAuthorization && name === "authorization") continue;
    out.push(name, value);
  }
  if (identity.userId !== undefined) out.push("x-user-id", identity.userId);
  out.push("x-request-id", identity.requestId);
  const client = req.socket.remoteAddress ?? "unknown";
  out.push("x-forwarded-for", forwardedFor === "" ? client : `${forwardedFor}, ${client}`);
  out.push("x-forwarded-proto", (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http");
  if (host !== undefined) out.push("x-forwarded-host", host);
  if (options.bodyLength !== undefined) out.push("content-length", String(options.bodyLength));
  return out;
}

/** Header names listed in a `Connection` header, lower-cased; `undefined` when there are none. */
export function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const joined = Array.isArray(value) ? value.join(",") : value;
  const names = new Set<string>();
  for (const token of joined.split(",")) {
    const name = token.trim().toLowerCase();
    if (name !== "" && name !== "close" && name !== "keep-alive") names.add(name);
  }
  return names.size > 0 ? names : undefined;
}
