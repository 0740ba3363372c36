import type { IncomingMessage } from "node:http";
import type { RouteSpec } from "@todo-gateway/config";
import type { VerifiedToken } from "../auth/verifier.ts";

/**
 * Request headers the gateway never passes on as the client sent them: hop-by-hop headers
 * (RFC 9110 §7.6.1), framing it recomputes, and every header that carries identity or
 * provenance, which only the gateway may set ("scrub before you set").
 */
const NEVER_FORWARDED = new Set([
  "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
  "host", "content-length", "expect", "proxy-authorization",
  "x-user-id", "x-request-id", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
  // Other client-asserted provenance: the gateway's X-Forwarded-* say the same, truthfully.
  "x-real-ip", "forwarded",
]);

export interface UpstreamRequest {
  readonly route: RouteSpec;
  readonly identity: VerifiedToken | undefined;
  readonly requestId: string;
  /** Header names claim mappings set anywhere in the table: never taken from a client. */
  readonly claimHeaderNames: ReadonlySet<string>;
  /** The token to send instead of the client's, for routes that re-mint credentials. */
  readonly mintedToken: string | undefined;
  readonly bodyLength: number | undefined;
}

/** A claim value safe to carry in a header: a scalar of visible ASCII. */
const HEADER_SAFE = /^[\x20-\x7e]*$/;

/**
 * Builds the upstream request headers as a flat `[name, value, ...]` list from the raw client
 * headers (so repeated headers stay separate), then appends the gateway's own. Names listed in
 * the client's `Connection` header are dropped before, never after, the gateway's are added.
 */
export function upstreamHeaders(req: IncomingMessage, request: UpstreamRequest): string[] {
  const { route, identity, claimHeaderNames } = request;
  const keepAuthorization = route.credentials.kind === "forward";
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
    if (claimHeaderNames.has(name)) continue;
    // CGI-style servers read X_User_Id as X-User-Id: an underscore variant of a header only the
    // gateway may set is dropped like the header itself.
    if (name.includes("_")) {
      const dashed = name.replaceAll("_", "-");
      if (NEVER_FORWARDED.has(dashed) || claimHeaderNames.has(dashed)) continue;
    }
    if (!keepAuthorization && name === "authorization") continue;
    out.push(name, value);
  }
  if (identity !== undefined) {
    out.push("x-user-id", identity.sub);
    const mapped = route.claimHeaders;
    if (mapped !== undefined) {
      for (const header in mapped) {
        const value = identity.claims[mapped[header]!];
        if ((typeof value === "string" || typeof value === "number" || typeof value === "boolean") && HEADER_SAFE.test(String(value))) {
          out.push(header, String(value));
        }
      }
    }
  }
  if (request.mintedToken !== undefined) out.push("authorization", `Bearer ${request.mintedToken}`);
  out.push("x-request-id", request.requestId);
  const client = req.socket.remoteAddress ?? "unknown";
  out.push("x-forwarded-for", forwardedFor === "" ? client : `${forwardedFor}, ${client}`);
  out.push("x-forwarded-proto", (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http");
  if (host !== undefined) out.push("x-forwarded-host", host);
  if (request.bodyLength !== undefined) out.push("content-length", String(request.bodyLength));
  return out;
}

/** Header names listed in a `Connection` header, lower-cased; `undefined` when there are none. */
export function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  // The usual values name no header: skip the split on the hot path.
  if (value === undefined || value === "keep-alive" || value === "close" || value === "Keep-Alive") return undefined;
  const joined = Array.isArray(value) ? value.join(",") : value;
  const names = new Set<string>();
  for (const token of joined.split(",")) {
    const name = token.trim().toLowerCase();
    if (name !== "" && name !== "close" && name !== "keep-alive") names.add(name);
  }
  return names.size > 0 ? names : undefined;
}
