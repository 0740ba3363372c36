import { isIP } from "node:net";
import type { IncomingMessage } from "node:http";
import { addressMatcher, type AddressRange } from "@todo-gateway/config";
import { isPlainHost } from "./guard.ts";

/** Who sent a request, as far as the gateway can believe it. */
export interface ResolvedClient {
  /** The client's address: what rate limits count by and logs show. */
  readonly address: string;
  /** `X-Forwarded-Proto` / `-Host` of a trusted proxy, when it sent sane ones. */
  readonly forwardedProto: "http" | "https" | undefined;
  readonly forwardedHost: string | undefined;
}

/**
 * How much of `X-Forwarded-For` / `-Proto` / `-Host` to believe (`TRUSTED_PROXIES`, as Envoy's
 * `xff_num_trusted_hops` and Traefik's `forwardedHeaders.trustedIPs`). Only when the socket's
 * peer is a trusted proxy: then the client is the rightmost X-Forwarded-For entry that is not a
 * trusted proxy itself (entries further left are whatever the client claimed), and the proxy's
 * own `-Proto` and `-Host` are taken. From anyone else, the socket address and nothing more.
 */
export class ClientAddresses {
  private readonly trusted: (address: string) => boolean;
  private readonly any: boolean;

  constructor(ranges: readonly AddressRange[]) {
    this.any = ranges.length > 0;
    this.trusted = addressMatcher(ranges);
  }

  resolve(req: IncomingMessage): ResolvedClient {
    const peer = req.socket.remoteAddress ?? "";
    if (!this.any || !this.trusted(peer)) return { address: peer, forwardedProto: undefined, forwardedHost: undefined };
    const headers = req.headers;
    return { address: this.clientBehind(peer, headers["x-forwarded-for"]), forwardedProto: lastProto(headers["x-forwarded-proto"]), forwardedHost: lastHost(headers["x-forwarded-host"]) };
  }

  private clientBehind(peer: string, forwardedFor: string | string[] | undefined): string {
    if (forwardedFor === undefined) return peer;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor).split(",");
    let nearest = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!.trim();
      // A hop that is not an address (a client's invention passed along): stop at the last one believed.
      if (isIP(hop) === 0) return nearest;
      if (!this.trusted(hop)) return hop;
      nearest = hop;
    }
    return nearest;
  }
}

function last(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const joined = Array.isArray(value) ? value.join(",") : value;
  return joined.slice(joined.lastIndexOf(",") + 1).trim();
}

function lastProto(value: string | string[] | undefined): "http" | "https" | undefined {
  const proto = last(value)?.toLowerCase();
  return proto === "http" || proto === "https" ? proto : undefined;
}

function lastHost(value: string | string[] | undefined): string | undefined {
  const host = last(value);
  return host !== undefined && isPlainHost(host) ? host : undefined;
}
