/**
 * The mutate stage on its own: the header list an upstream receives. The gateway's headers
 * come first; then the client's, minus every name config says is never forwarded (in any
 * case, and in `_` spelling), Connection-listed names and claim-mapped names ("scrub before
 * you set"); credentials per route; Better Auth's cookies only for the auth-service. The same
 * attacks over sockets are in security/header-spoofing.test.ts, security/session-cookies.test.ts
 * and security/routing-override-headers.test.ts.
 */
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { NEVER_FORWARDED_HEADERS, compileKnownPattern, type RouteSpec, type UpstreamCredentials } from "@todo-gateway/config";
import type { VerifiedToken } from "../../src/auth/verifier.ts";
import { connectionTokens, upstreamHeaders, type UpstreamRequest } from "../../src/pipeline/mutate.ts";

const CLIENT_ADDRESS = "10.0.0.7";
const REQUEST_ID = "req-1";

/** Node's rule for `req.headers`: these keep their first copy only, the rest are joined. */
const FIRST_ONLY = new Set(["host", "authorization", "content-length", "content-type", "user-agent", "referer", "proxy-authorization"]);

/**
 * The fields upstreamHeaders reads from an IncomingMessage, built the way Node builds them from
 * the raw header lines (names lower-cased, repeated `cookie` joined with "; ", others with ", ").
 */
function incoming(rawHeaders: string[], socket: { remoteAddress?: string | undefined; encrypted?: boolean } = { remoteAddress: CLIENT_ADDRESS }): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (headers[name] === undefined) headers[name] = value;
    else if (!FIRST_ONLY.has(name)) headers[name] += name === "cookie" ? `; ${value}` : `, ${value}`;
  }
  return { rawHeaders, headers, socket } as unknown as IncomingMessage;
}

function spec(credentials: UpstreamCredentials = { kind: "forward" }, claimHeaders?: Record<string, string>): RouteSpec {
  return {
    name: "tasks.list", methods: ["GET"], path: "/api/{user_id}/tasks", pattern: compileKnownPattern("/api/{user_id}/tasks"),
    target: { kind: "upstream", upstream: "legacy" }, auth: "jwt", credentials, ...(claimHeaders && { claimHeaders }),
  };
}

function identity(claims: Record<string, unknown>): VerifiedToken {
  return { sub: claims.sub as string, claims, expiresAtMs: Number.MAX_SAFE_INTEGER, keyGeneration: 1 };
}

const ALICE = identity({ sub: "alice" });

function request(overrides: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return {
    route: spec(), identity: ALICE, requestId: REQUEST_ID, claimHeaderNames: new Set(), mintedToken: undefined,
    bodyLength: undefined, authService: false, ...overrides,
  };
}

/** The list as [name, value] pairs. */
function pairs(list: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
  return out;
}

function values(list: readonly string[], name: string): string[] {
  return pairs(list).filter(([n]) => n === name).map(([, v]) => v);
}

const MINT: UpstreamCredentials = {
  kind: "mint", algorithm: "HS256", secret: "s".repeat(32), claims: ["sub"], issuer: undefined, audience: undefined, ttlSeconds: 60,
};

describe("the gateway's own headers", () => {
  it("come first, in a fixed order, before every client header", () => {
    const req = incoming(["Host", "gw.example:8080", "Accept", "application/json", "X-Trace", "t1"]);
    const list = upstreamHeaders(req, request({
      route: spec(MINT, { "x-tenant": "tenant" }), identity: identity({ sub: "alice", tenant: "acme" }),
      claimHeaderNames: new Set(["x-tenant"]), mintedToken: "minted.jwt.value", bodyLength: 12,
    }));
    expect(pairs(list)).toEqual([
      ["x-user-id", "alice"],
      ["x-tenant", "acme"],
      ["authorization", "Bearer minted.jwt.value"],
      ["x-request-id", REQUEST_ID],
      ["x-forwarded-for", CLIENT_ADDRESS], ["x-real-ip", CLIENT_ADDRESS],
      ["x-forwarded-proto", "http"],
      ["x-forwarded-host", "gw.example:8080"],
      ["content-length", "12"],
      ["accept", "application/json"],
      ["x-trace", "t1"],
    ]);
  });

  it("stay first however many client headers follow", () => {
    const client = Array.from({ length: 3000 }, (_, i) => [`X-Pad-${i}`, "p"]).flat();
    const list = upstreamHeaders(incoming(["Host", "gw", ...client]), request());
    expect(pairs(list).slice(0, 6).map(([name]) => name)).toEqual(["x-user-id", "x-request-id", "x-forwarded-for", "x-real-ip", "x-forwarded-proto", "x-forwarded-host"]);
    expect(list).toHaveLength(2 * (6 + 3000));
  });

  it.each([
    ["sets no X-User-Id on a public route", undefined, []],
    ["sets X-User-Id from the verified sub", ALICE, ["alice"]],
  ])("%s", (_behaviour, who, expected) => {
    expect(values(upstreamHeaders(incoming(["Host", "gw"]), request({ identity: who })), "x-user-id")).toEqual(expected);
  });

  it.each([
    ["sets X-Forwarded-For to the socket address without a client value", [], { remoteAddress: CLIENT_ADDRESS }, CLIENT_ADDRESS],
    ["appends the socket address to the client's X-Forwarded-For", ["X-Forwarded-For", "203.0.113.9"], { remoteAddress: CLIENT_ADDRESS }, `203.0.113.9, ${CLIENT_ADDRESS}`],
    ["appends the socket address after every client copy", ["X-Forwarded-For", "203.0.113.9", "x-forwarded-for", "198.51.100.1, 192.0.2.5"], { remoteAddress: CLIENT_ADDRESS }, `203.0.113.9, 198.51.100.1, 192.0.2.5, ${CLIENT_ADDRESS}`],
    ["ignores an empty client X-Forwarded-For", ["X-Forwarded-For", ""], { remoteAddress: CLIENT_ADDRESS }, CLIENT_ADDRESS],
    ["appends an IPv6 socket address", ["X-Forwarded-For", "203.0.113.9"], { remoteAddress: "::1" }, "203.0.113.9, ::1"],
    ["says unknown for a socket without an address", [], { remoteAddress: undefined }, "unknown"],
  ])("%s", (_behaviour, raw, socket, forwardedFor) => {
    const list = upstreamHeaders(incoming(["Host", "gw", ...raw], socket), request());
    expect(values(list, "x-forwarded-for")).toEqual([forwardedFor]);
  });

  it.each([
    ["http for a plain socket", { remoteAddress: CLIENT_ADDRESS }, "http"],
    ["https for a TLS socket", { remoteAddress: CLIENT_ADDRESS, encrypted: true }, "https"],
  ])("sets X-Forwarded-Proto to %s", (_behaviour, socket, proto) => {
    expect(values(upstreamHeaders(incoming(["Host", "gw"], socket), request()), "x-forwarded-proto")).toEqual([proto]);
  });

  it.each([
    ["from the Host header", ["Host", "gw.example:8443"], ["gw.example:8443"]],
    ["not at all without a Host (HTTP/1.0)", [], []],
  ])("sets X-Forwarded-Host %s", (_behaviour, raw, expected) => {
    expect(values(upstreamHeaders(incoming(raw), request()), "x-forwarded-host")).toEqual(expected);
  });

  it.each([
    ["the body's length", 12, ["12"]],
    ["0 for an empty body", 0, ["0"]],
    ["nothing when there is no body", undefined, []],
  ])("sets Content-Length to %s, never the client's", (_behaviour, bodyLength, expected) => {
    const list = upstreamHeaders(incoming(["Host", "gw", "Content-Length", "999"]), request({ bodyLength }));
    expect(values(list, "content-length")).toEqual(expected);
  });
});

describe("scrubbing client headers", () => {
  const scrubbed = [...NEVER_FORWARDED_HEADERS];
  const spellings = scrubbed.flatMap((name) => {
    const title = name.replace(/(^|-)([a-z])/g, (_m, dash: string, letter: string) => dash + letter.toUpperCase());
    const forms: [string, string][] = [[name, name], [name, name.toUpperCase()], [name, title]];
    if (name.includes("-")) forms.push([name, title.replaceAll("-", "_")], [name, name.replaceAll("-", "_")]);
    return forms;
  });

  it("covers every never-forwarded header config lists", () => {
    expect(scrubbed.length).toBeGreaterThan(40);
    expect(spellings.length).toBeGreaterThan(4 * scrubbed.length);
  });

  it.each(spellings)("drops a client's %s sent as %s", (name, spelling) => {
    const list = upstreamHeaders(incoming(["Host", "gw.example", spelling, "spoofed"]), request());
    expect(pairs(list).filter(([, value]) => value === "spoofed")).toEqual([]);
    expect(values(list, name).length).toBeLessThanOrEqual(1);
    expect(list.some((entry) => entry === spelling && spelling !== name)).toBe(false);
  });

  it("drops every copy of a spoofed X-User-Id and sets one from the token", () => {
    const req = incoming(["Host", "gw", "X-User-Id", "bob", "x-user-id", "carol", "X_User_Id", "dave", "X-USER-ID", "alice, bob"]);
    expect(pairs(upstreamHeaders(req, request())).filter(([name]) => name.replaceAll("_", "-") === "x-user-id")).toEqual([["x-user-id", "alice"]]);
  });

  it("drops a spoofed X-User-Id on a public route without setting one", () => {
    const list = upstreamHeaders(incoming(["Host", "gw", "X-User-Id", "bob", "X_User_Id", "bob"]), request({ identity: undefined }));
    expect(list.some((entry) => entry.toLowerCase().replaceAll("_", "-") === "x-user-id")).toBe(false);
  });

  it.each([
    ["one listed name", "X-Secret", ["x-secret"]],
    ["several names, any case and spacing", " x-secret ,X-Other,, keep-alive ", ["x-secret", "x-other"]],
  ])("drops the headers the client's Connection lists (%s)", (_behaviour, connection, dropped) => {
    const req = incoming(["Host", "gw", "Connection", connection, "X-Secret", "s", "X-Other", "o", "X-Kept", "k"]);
    const names = pairs(upstreamHeaders(req, request())).map(([name]) => name);
    for (const name of dropped) expect(names).not.toContain(name);
    expect(names).toContain("x-kept");
    expect(names).not.toContain("connection");
  });

  it("drops names listed in any of several Connection headers", () => {
    const req = incoming(["Host", "gw", "Connection", "x-a", "Connection", "X-B", "X-A", "1", "X-B", "2", "X-C", "3"]);
    expect(pairs(upstreamHeaders(req, request())).slice(6)).toEqual([["x-c", "3"]]);
  });

  it("never drops the gateway's own headers when Connection lists them", () => {
    const connection = "x-user-id, x-request-id, x-forwarded-for, x-forwarded-proto, x-forwarded-host, content-length, authorization, x-tenant";
    const req = incoming(["Host", "gw", "Connection", connection, "Authorization", "Bearer client"]);
    const list = upstreamHeaders(req, request({
      route: spec(MINT, { "x-tenant": "tenant" }), identity: identity({ sub: "alice", tenant: "acme" }),
      claimHeaderNames: new Set(["x-tenant"]), mintedToken: "minted", bodyLength: 3,
    }));
    expect(pairs(list)).toEqual([
      ["x-user-id", "alice"], ["x-tenant", "acme"], ["authorization", "Bearer minted"], ["x-request-id", REQUEST_ID],
      ["x-forwarded-for", CLIENT_ADDRESS], ["x-real-ip", CLIENT_ADDRESS], ["x-forwarded-proto", "http"], ["x-forwarded-host", "gw"], ["content-length", "3"],
    ]);
  });

  it.each([
    ["in lower case", "x-tenant"],
    ["in title case", "X-Tenant"],
    ["in upper case", "X-TENANT"],
    ["with underscores", "X_Tenant"],
    ["with mixed dashes and underscores", "x_tenant"],
  ])("drops a client's claim-mapped header %s", (_behaviour, spelling) => {
    const req = incoming(["Host", "gw", spelling, "evil-corp"]);
    const mapped = upstreamHeaders(req, request({
      route: spec({ kind: "forward" }, { "x-tenant": "tenant" }), identity: identity({ sub: "alice", tenant: "acme" }), claimHeaderNames: new Set(["x-tenant"]),
    }));
    expect(pairs(mapped).filter(([name]) => name.toLowerCase().replaceAll("_", "-") === "x-tenant")).toEqual([["x-tenant", "acme"]]);
  });

  it("drops a claim-mapped name on routes that do not map it, and on public ones", () => {
    const req = incoming(["Host", "gw", "X-Tenant", "evil-corp", "X_Tenant", "evil-corp"]);
    for (const identityOrNone of [ALICE, undefined]) {
      const list = upstreamHeaders(req, request({ identity: identityOrNone, claimHeaderNames: new Set(["x-tenant"]) }));
      expect(list).not.toContain("evil-corp");
    }
  });

  it("keeps ordinary headers with underscores, and every copy of a repeated header", () => {
    const req = incoming(["Host", "gw", "X_Custom_Thing", "1", "Accept", "text/html", "ACCEPT", "application/json", "X-Value", " Mixed Case Value"]);
    expect(pairs(upstreamHeaders(req, request())).slice(6)).toEqual([
      ["x_custom_thing", "1"], ["accept", "text/html"], ["accept", "application/json"], ["x-value", " Mixed Case Value"],
    ]);
  });
});

describe("credentials", () => {
  const client = ["Host", "gw", "Authorization", "Bearer client.token"];

  it.each([
    ["forwards the client's Authorization on a forward route", { kind: "forward" } as const, undefined, ["Bearer client.token"]],
    ["drops the client's Authorization on a strip route", { kind: "strip" } as const, undefined, []],
    ["replaces the client's Authorization with the minted token on a mint route", MINT, "minted.token", ["Bearer minted.token"]],
  ])("%s", (_behaviour, credentials, mintedToken, expected) => {
    const list = upstreamHeaders(incoming(client), request({ route: spec(credentials), mintedToken }));
    expect(values(list, "authorization")).toEqual(expected);
  });

  it.each([
    ["Authorization", "AUTHORIZATION"],
    ["Authorization", "authorization"],
  ])("drops the client's %s on a strip route whatever its case (%s)", (_name, spelling) => {
    const list = upstreamHeaders(incoming(["Host", "gw", spelling, "Bearer client.token"]), request({ route: spec({ kind: "strip" }) }));
    expect(list).not.toContain("Bearer client.token");
  });

  it("drops Proxy-Authorization on every kind of route", () => {
    for (const credentials of [{ kind: "forward" } as const, { kind: "strip" } as const, MINT]) {
      const list = upstreamHeaders(incoming(["Host", "gw", "Proxy-Authorization", "Basic eDp5"]), request({ route: spec(credentials) }));
      expect(list).not.toContain("Basic eDp5");
    }
  });
});

describe("Better Auth's session cookies", () => {
  const mixed = "theme=dark; better-auth.session_token=abc.sig; __Secure-better-auth.session_data=d; __Host-better-auth.dont_remember=1; lang=en";

  it.each([
    ["removes them for another upstream, keeping the rest", mixed, ["theme=dark; lang=en"]],
    ["drops a Cookie header that held only them", "better-auth.session_token=abc; better-auth.session_data=d", []],
    ["normalizes the separators of what it keeps", "a=1;better-auth.session_token=x;b=2", ["a=1; b=2"]],
    ["keeps a header that names none of them as it is", "a=1;b=2 ;  c=3", ["a=1;b=2 ;  c=3"]],
    ["keeps cookies whose names only contain the prefix", "notbetter-auth.x=1; better-auth=2; better-authx.y=3", ["notbetter-auth.x=1; better-auth=2; better-authx.y=3"]],
    ["keeps a cookie whose value mentions the prefix", "ref=better-auth.session_token", ["ref=better-auth.session_token"]],
  ])("%s", (_behaviour, cookie, expected) => {
    expect(values(upstreamHeaders(incoming(["Host", "gw", "Cookie", cookie]), request()), "cookie")).toEqual(expected);
  });

  it("filters every Cookie header separately", () => {
    const req = incoming(["Host", "gw", "Cookie", "a=1", "cookie", "better-auth.session_token=x", "COOKIE", "better-auth.session_data=y; b=2"]);
    expect(values(upstreamHeaders(req, request()), "cookie")).toEqual(["a=1", "b=2"]);
  });

  it("keeps them, byte for byte, for the auth-service", () => {
    const req = incoming(["Host", "gw", "Cookie", mixed, "Cookie", "better-auth.session_token=second"]);
    expect(values(upstreamHeaders(req, request({ authService: true, identity: undefined })), "cookie")).toEqual([mixed, "better-auth.session_token=second"]);
  });
});

describe("claim-mapped headers", () => {
  function mapped(value: unknown): string[] {
    const claims: Record<string, unknown> = { sub: "alice" };
    if (value !== undefined) claims.tenant = value;
    const list = upstreamHeaders(incoming(["Host", "gw"]), request({
      route: spec({ kind: "forward" }, { "x-tenant": "tenant" }), identity: identity(claims), claimHeaderNames: new Set(["x-tenant"]),
    }));
    return values(list, "x-tenant");
  }

  it.each([
    ["a plain string", "acme", "acme"],
    ["a string with inner spaces", "acme corp EU", "acme corp EU"],
    ["a number", 42, "42"],
    ["zero", 0, "0"],
    ["a fraction", 1.5, "1.5"],
    ["true", true, "true"],
    ["false", false, "false"],
  ])("sets %s", (_behaviour, value, header) => {
    expect(mapped(value)).toEqual([header]);
  });

  it.each([
    ["a missing claim", undefined],
    ["an empty string", ""],
    ["a leading space", " acme"],
    ["a trailing space", "acme "],
    ["a trailing tab", "acme\t"],
    ["a line feed", "acme\nX-User-Id: bob"],
    ["a carriage return", "acme\r"],
    ["a NUL", "ac\u0000me"],
    ["a DEL", "acme\u007f"],
    ["an inner tab", "acme corp\tEU"],
    ["Latin-1 text (an upstream reading UTF-8 would see other characters)", "café"],
    ["text beyond Latin-1", "acme€"],
    ["an emoji", "😀"],
    ["null", null],
    ["an array", ["acme"]],
    ["an object", { name: "acme" }],
  ])("omits %s", (_behaviour, value) => {
    expect(mapped(value)).toEqual([]);
  });

  it("sets several mapped headers in the route's order, right after X-User-Id", () => {
    const list = upstreamHeaders(incoming(["Host", "gw"]), request({
      route: spec({ kind: "forward" }, { "x-tenant": "tenant", "x-role": "role", "x-missing": "nope" }),
      identity: identity({ sub: "alice", tenant: "acme", role: "admin" }),
      claimHeaderNames: new Set(["x-tenant", "x-role", "x-missing"]),
    }));
    expect(pairs(list).slice(0, 4)).toEqual([["x-user-id", "alice"], ["x-tenant", "acme"], ["x-role", "admin"], ["x-request-id", REQUEST_ID]]);
  });
});

describe("connectionTokens", () => {
  it.each([
    ["no header", undefined, undefined],
    ["keep-alive", "keep-alive", undefined],
    ["Keep-Alive", "Keep-Alive", undefined],
    ["close", "close", undefined],
    ["Close", "Close", undefined],
    ["keep-alive and close together", "keep-alive, Close", undefined],
    ["an empty value", "", undefined],
    ["only commas and spaces", " , ,", undefined],
    ["one name, lower-cased", "Upgrade", ["upgrade"]],
    ["names, trimmed, without empty items", " X-A , ,x-b ", ["x-a", "x-b"]],
    ["names beside keep-alive", "keep-alive, X-Secret", ["x-secret"]],
    ["a name listed twice", "x-a, X-A", ["x-a"]],
    ["the values of several headers", ["x-a, close", "X-B"], ["x-a", "x-b"]],
  ])("reads %s", (_behaviour, value, names) => {
    const tokens = connectionTokens(value);
    expect(tokens === undefined ? undefined : [...tokens]).toEqual(names);
  });
});
