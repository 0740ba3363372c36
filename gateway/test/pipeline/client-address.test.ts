/**
 * Who the client is (TRUSTED_PROXIES, issue 13 item 2): the socket's peer, or, when that peer
 * is a trusted proxy, the rightmost X-Forwarded-For entry that is not a trusted proxy. The
 * attack: a client writes X-Forwarded-For (or -Proto, -Host) itself to pass as someone else and
 * dodge its rate limit, or to poison what upstreams are told. Entries to the left of the last
 * untrusted hop are whatever the client claimed; only proxies we trust append honestly. The
 * same over real sockets, through a real nginx: scale/behind-nginx.test.ts.
 */
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { parseAddressRange, type AddressRange } from "@todo-gateway/config";
import { ClientAddresses } from "../../src/pipeline/client-address.ts";

function ranges(...items: string[]): AddressRange[] {
  return items.map((item) => {
    const range = parseAddressRange(item);
    if (range === undefined) throw new Error(`bad range in the test: ${item}`);
    return range;
  });
}

/** The fields the resolver reads, repeated headers joined with ", " as Node joins them. */
function request(peer: string, lines: [string, string][] = []): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of lines) {
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  return { socket: { remoteAddress: peer }, headers } as unknown as IncomingMessage;
}

const spoof: [string, string][] = [["X-Forwarded-For", "198.51.100.66"], ["X-Forwarded-Proto", "https"], ["X-Forwarded-Host", "evil.example"]];

describe("without TRUSTED_PROXIES (the default)", () => {
  const clients = new ClientAddresses([]);

  it("is the socket's peer, whatever X-Forwarded-* say", () => {
    expect(clients.resolve(request("203.0.113.9", spoof))).toEqual({ address: "203.0.113.9", forwardedProto: undefined, forwardedHost: undefined });
  });
});

describe("with TRUSTED_PROXIES", () => {
  const clients = new ClientAddresses(ranges("10.0.0.0/8", "192.0.2.10", "fd00::/8"));
  const address = (peer: string, forwardedFor?: string | string[]) =>
    clients.resolve(request(peer, forwardedFor === undefined ? [] : (Array.isArray(forwardedFor) ? forwardedFor : [forwardedFor]).map((value) => ["X-Forwarded-For", value] as [string, string]))).address;

  it("ignores every X-Forwarded-* header from a sender that is not trusted", () => {
    expect(clients.resolve(request("203.0.113.9", spoof))).toEqual({ address: "203.0.113.9", forwardedProto: undefined, forwardedHost: undefined });
    // Just outside a trusted range, and a neighbour of a trusted single address.
    expect(address("11.0.0.1", "198.51.100.66")).toBe("11.0.0.1");
    expect(address("192.0.2.11", "198.51.100.66")).toBe("192.0.2.11");
  });

  it("believes a trusted proxy's X-Forwarded-For, -Proto and -Host", () => {
    expect(clients.resolve(request("10.1.2.3", spoof))).toEqual({ address: "198.51.100.66", forwardedProto: "https", forwardedHost: "evil.example" });
    expect(address("192.0.2.10", "198.51.100.66")).toBe("198.51.100.66");
  });

  it("matches IPv4 ranges (CIDR and single addresses) and IPv6 ranges", () => {
    expect(address("10.255.255.255", "203.0.113.1")).toBe("203.0.113.1");
    expect(address("fd12:3456::1", "2001:db8::7")).toBe("2001:db8::7");
    expect(address("fe80::1", "2001:db8::7")).toBe("fe80::1");
    expect(address("fd12:3456::1", "203.0.113.1")).toBe("203.0.113.1");
  });

  it("matches an IPv4-mapped IPv6 peer (a dual-stack socket) against IPv4 ranges", () => {
    expect(address("::ffff:10.0.0.5", "203.0.113.1")).toBe("203.0.113.1");
    expect(address("::FFFF:10.0.0.5", "203.0.113.1")).toBe("203.0.113.1");
    expect(address("::ffff:11.0.0.5", "203.0.113.1")).toBe("::ffff:11.0.0.5");
  });

  it("takes the rightmost hop that is not trusted, never the client-written ones to its left", () => {
    // The client wrote 198.51.100.66; the edge proxy appended the client's real address; an inner
    // trusted proxy appended the edge's.
    expect(address("10.0.0.1", "198.51.100.66, 203.0.113.9, 10.0.0.2")).toBe("203.0.113.9");
    expect(address("10.0.0.1", "198.51.100.66, 203.0.113.9, ::ffff:10.0.0.2, fd00::3")).toBe("203.0.113.9");
    // Repeated header lines count as one list, in order.
    expect(address("10.0.0.1", ["198.51.100.66", "203.0.113.9"])).toBe("203.0.113.9");
  });

  it("is the leftmost hop when every hop is trusted", () => {
    expect(address("10.0.0.1", "10.0.0.3, 10.0.0.2")).toBe("10.0.0.3");
  });

  it("is the trusted peer itself when it sends no X-Forwarded-For", () => {
    expect(address("10.0.0.1")).toBe("10.0.0.1");
    expect(address("10.0.0.1", "")).toBe("10.0.0.1");
  });

  it("stops at the nearest hop it believes when the next one is not an address", () => {
    expect(address("10.0.0.1", "203.0.113.9, not-an-address")).toBe("10.0.0.1");
    expect(address("10.0.0.1", "203.0.113.9, unknown, 10.0.0.2")).toBe("10.0.0.2");
    expect(address("10.0.0.1", "203.0.113.9:4711")).toBe("10.0.0.1");
    expect(address("10.0.0.1", "[2001:db8::7]")).toBe("10.0.0.1");
    expect(address("10.0.0.1", "203.0.113.9,,")).toBe("10.0.0.1");
    // Garbage the client wrote on the left is never reached.
    expect(address("10.0.0.1", "<script>, 999.1.1.1, 203.0.113.9")).toBe("203.0.113.9");
    expect(address("10.0.0.1", " \t203.0.113.9 ")).toBe("203.0.113.9");
  });

  it("takes the last X-Forwarded-Proto only when it is http or https", () => {
    const proto = (value: string) => clients.resolve(request("10.0.0.1", [["X-Forwarded-Proto", value]])).forwardedProto;
    expect(proto("http, https")).toBe("https");
    expect(proto("HTTPS")).toBe("https");
    expect(proto("https, http")).toBe("http");
    expect(proto("ftp")).toBeUndefined();
    expect(proto("https\r\nX-Injected: 1")).toBeUndefined();
  });

  it("takes the last X-Forwarded-Host only when it is a plain host[:port]", () => {
    const host = (value: string) => clients.resolve(request("10.0.0.1", [["X-Forwarded-Host", value]])).forwardedHost;
    expect(host("app.example:8443")).toBe("app.example:8443");
    expect(host("evil.example, app.example")).toBe("app.example");
    expect(host("app.example/path")).toBeUndefined();
    expect(host("user@app.example")).toBeUndefined();
    expect(host("")).toBeUndefined();
  });
});
