import type { IncomingMessage } from "node:http";
import { dashed, isAuthServiceCookie, isNeverForwarded, type RouteSpec } from "@todo-gateway/config";
import type { VerifiedToken } from "../auth/verifier.ts";
import { isHeaderSafeClaim } from "../auth/claims.ts";
import type { ResolvedClient } from "./client-address.ts";

export interface UpstreamRequest {
  readonly route: RouteSpec;
  readonly identity: VerifiedToken | undefined;
  readonly requestId: string;
  /** Header names claim mappings set anywhere in the table: never taken from a client. */
  readonly claimHeaderNames: ReadonlySet<string>;
  /** The token to send instead of the client's, for routes that re-mint credentials. */
  readonly mintedToken: string | undefined;
  readonly bodyLength: number | undefined;
  /** Whether this upstream is the auth-service: only it receives Better Auth's session cookies. */
  readonly authService: boolean;
  /** The client as resolved through TRUSTED_PROXIES; by default the socket's peer, nothing forwarded believed. */
  readonly client?: ResolvedClient;
}

/**
 * Builds the upstream request headers as a flat `[name, value, ...]` list. The gateway's own
 * headers come first, so no number of client headers can push them past what an upstream reads
 * (a Node upstream keeps only its first 2,000 lines). Then the raw client headers, repeated ones
 * kept separate, minus everything in config's never-forwarded set, names listed in the client's
 * `Connection` header, claim-mapped names, and `_` spellings of any of those.
 */
export function upstreamHeaders(req: IncomingMessage, request: UpstreamRequest): string[] {
  const { route, identity, claimHeaderNames } = request;
  const out: string[] = [];
  if (identity !== undefined) {
    out.push("x-user-id", identity.sub);
    const mapped = route.claimHeaders;
    if (mapped !== undefined) {
      for (const header in mapped) {
        const value = identity.claims[mapped[header]!];
        if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
          const text = String(value);
          if (isHeaderSafeClaim(text)) out.push(header, text);
        }
      }
    }
  }
  if (request.mintedToken !== undefined) out.push("authorization", `Bearer ${request.mintedToken}`);
  out.push("x-request-id", request.requestId);
  const headers = req.headers;
  const forwardedFor = headers["x-forwarded-for"];
  const peer = req.socket.remoteAddress ?? "unknown";
  out.push("x-forwarded-for", forwardedFor === undefined || forwardedFor === "" ? peer : `${forwardedFor}, ${peer}`);
  const client = request.client;
  // The client's address as the gateway resolved it (the peer, or behind a trusted proxy).
  out.push("x-real-ip", client?.address ?? peer);
  out.push("x-forwarded-proto", client?.forwardedProto ?? ((req.socket as { encrypted?: boolean }).encrypted ? "https" : "http"));
  // The guard has checked that there is at most one Host, and that it is a plain host[:port].
  const host = client?.forwardedHost ?? headers.host;
  if (host !== undefined) out.push("x-forwarded-host", host);
  if (request.bodyLength !== undefined) out.push("content-length", String(request.bodyLength));

  const keepAuthorization = route.credentials.kind === "forward";
  const connectionListed = connectionTokens(headers.connection);
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (isNeverForwarded(name)) continue;
    if (connectionListed !== undefined && connectionListed.has(name)) continue;
    if (claimHeaderNames.has(name)) continue;
    if (name.includes("_")) {
      const canonical = dashed(name);
      if (isNeverForwarded(canonical) || claimHeaderNames.has(canonical)) continue;
    }
    if (name === "authorization" && !keepAuthorization) continue;
    if (name === "cookie" && !request.authService) {
      const kept = withoutAuthServiceCookies(raw[i + 1]!);
      if (kept !== "") out.push(name, kept);
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/**
 * A Cookie header without Better Auth's cookies (they are the auth-service's credentials).
 * Split on `;` and on `,` too, and names compared unquoted and in any case: some servers read
 * cookies those ways, and a cookie they would read must not slip through.
 */
function withoutAuthServiceCookies(value: string): string {
  if (!/better-auth\./i.test(value)) return value;
  return value
    .split(/[;,]/)
    .map((pair) => pair.trim())
    .filter((pair) => pair !== "" && !isAuthServiceCookie(pair.split("=", 1)[0]!))
    .join("; ");
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
