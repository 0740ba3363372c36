/**
 * The settings of issue 13 (workers, trusted proxies, rate limits): their defaults, and each bad
 * value refused with one line naming the setting (or the route file's field). That the gateway
 * process then stops before it listens: gateway/test/scale/bad-settings.test.ts.
 */
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { ConfigError, loadGatewayConfig, parseRouteTable, type RouteTableContext } from "../src/index.ts";

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadGatewayConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error("expected a ConfigError");
}

describe("defaults", () => {
  it("runs one worker, trusts no proxy and limits nothing", () => {
    const config = loadGatewayConfig({});
    expect(config.workers).toBe(1);
    expect(config.trustedProxies).toEqual([]);
    expect(config.rateLimits).toEqual({ perUser: undefined, perAddress: undefined, windowS: 60 });
  });

  it("reads the limits and the window", () => {
    expect(loadGatewayConfig({ RATE_LIMIT_PER_USER: "100", RATE_LIMIT_PER_ADDRESS: " 300 ", RATE_LIMIT_WINDOW_S: "10" }).rateLimits).toEqual({ perUser: 100, perAddress: 300, windowS: 10 });
    // Empty is unset: no limit.
    expect(loadGatewayConfig({ RATE_LIMIT_PER_USER: "" }).rateLimits.perUser).toBeUndefined();
  });
});

describe("GATEWAY_WORKERS", () => {
  it("is a number of workers, or auto for the available parallelism", () => {
    expect(loadGatewayConfig({ GATEWAY_WORKERS: "4" }).workers).toBe(4);
    expect(loadGatewayConfig({ GATEWAY_WORKERS: "auto" }).workers).toBe(availableParallelism());
    expect(loadGatewayConfig({ GATEWAY_WORKERS: " AUTO " }).workers).toBe(availableParallelism());
  });

  it.each([
    ["0", 'GATEWAY_WORKERS: 0 is out of range (1-1024)'],
    ["-1", 'GATEWAY_WORKERS: "-1" is not a whole number'],
    ["abc", 'GATEWAY_WORKERS: "abc" is not a whole number'],
    ["1.5", 'GATEWAY_WORKERS: "1.5" is not a whole number'],
    ["1025", "GATEWAY_WORKERS: 1025 is out of range (1-1024)"],
  ])("refuses %s with one line", (value, line) => {
    expect(problemsOf({ GATEWAY_WORKERS: value })).toEqual([line]);
  });
});

describe("TRUSTED_PROXIES", () => {
  it("reads addresses and CIDRs, v4 and v6, ignoring blanks around items", () => {
    expect(loadGatewayConfig({ TRUSTED_PROXIES: "10.0.0.0/8, 192.0.2.10 ,fd00::/8,::1" }).trustedProxies).toEqual([
      { address: "10.0.0.0", prefix: 8, family: "ipv4" },
      { address: "192.0.2.10", prefix: 32, family: "ipv4" },
      { address: "fd00::", prefix: 8, family: "ipv6" },
      { address: "::1", prefix: 128, family: "ipv6" },
    ]);
  });

  it.each(["10.0.0.0/33", "10.0.0.300", "10.0.0.0/", "/8", "10.0.0.0/8/8", "10.0.0.0/-1", "10.0.0.0/x", "fd00::/129", "localhost", "10.0.0.0 /8", "*"])(
    "refuses %j with one line naming it",
    (value) => {
      expect(problemsOf({ TRUSTED_PROXIES: value })).toEqual([`TRUSTED_PROXIES: "${value}" is not an address or CIDR such as 10.0.0.5 or 10.0.0.0/8`]);
    },
  );

  it("reports each bad item of a list, and keeps the good ones out of the message", () => {
    expect(problemsOf({ TRUSTED_PROXIES: "10.0.0.0/8, 300.0.0.1, 192.0.2.0/24, nope" })).toEqual([
      'TRUSTED_PROXIES: "300.0.0.1" is not an address or CIDR such as 10.0.0.5 or 10.0.0.0/8',
      'TRUSTED_PROXIES: "nope" is not an address or CIDR such as 10.0.0.5 or 10.0.0.0/8',
    ]);
  });
});

describe("RATE_LIMIT_PER_USER, RATE_LIMIT_PER_ADDRESS, RATE_LIMIT_WINDOW_S", () => {
  it.each([
    ["RATE_LIMIT_PER_USER", "0", "RATE_LIMIT_PER_USER: a rate limit of zero would refuse everything (leave it unset for no limit)"],
    ["RATE_LIMIT_PER_ADDRESS", " 0 ", "RATE_LIMIT_PER_ADDRESS: a rate limit of zero would refuse everything (leave it unset for no limit)"],
    ["RATE_LIMIT_PER_USER", "00", "RATE_LIMIT_PER_USER: 0 is out of range (1-1000000000)"],
    ["RATE_LIMIT_PER_USER", "-3", 'RATE_LIMIT_PER_USER: "-3" is not a whole number'],
    ["RATE_LIMIT_PER_ADDRESS", "ten", 'RATE_LIMIT_PER_ADDRESS: "ten" is not a whole number'],
    ["RATE_LIMIT_PER_ADDRESS", "1000000001", "RATE_LIMIT_PER_ADDRESS: 1000000001 is out of range (1-1000000000)"],
    ["RATE_LIMIT_WINDOW_S", "-5", 'RATE_LIMIT_WINDOW_S: "-5" is not a whole number'],
    ["RATE_LIMIT_WINDOW_S", "0", "RATE_LIMIT_WINDOW_S: 0 is out of range (1-86400)"],
    ["RATE_LIMIT_WINDOW_S", "86401", "RATE_LIMIT_WINDOW_S: 86401 is out of range (1-86400)"],
    ["RATE_LIMIT_WINDOW_S", "1.5", 'RATE_LIMIT_WINDOW_S: "1.5" is not a whole number'],
  ])("refuses %s=%j with one line naming it", (name, value, line) => {
    expect(problemsOf({ [name]: value })).toEqual([line]);
  });
});

describe("a route's rateLimit in the route file", () => {
  const context: RouteTableContext = { env: {}, defaultTimeoutMs: 10_000, defaultMaxConnections: 256, defaultMaxQueue: 1024, stripAuthorization: false };
  const table = (rateLimit: string, auth = "jwt") =>
    `upstreams:\n  notes: { url: "http://127.0.0.1:9" }\nroutes:\n  - { name: n, methods: [GET], path: /n, upstream: notes, auth: ${auth}, rateLimit: ${rateLimit} }`;
  const problems = (yaml: string): string[] => {
    try {
      parseRouteTable(yaml, "routes.yaml", context);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return [...(error as ConfigError).problems];
    }
    throw new Error("expected the table to be refused");
  };

  it("reads off, or the route's own limits", () => {
    expect(parseRouteTable(table("off"), "routes.yaml", context).routes.at(-1)!.rateLimit).toBe("off");
    expect(parseRouteTable(table("{ perUser: 100, perAddress: 300, windowS: 60 }"), "routes.yaml", context).routes.at(-1)!.rateLimit).toEqual({ perUser: 100, perAddress: 300, windowS: 60 });
    expect(parseRouteTable(table("{ perAddress: 5 }", "none"), "routes.yaml", context).routes.at(-1)!.rateLimit).toEqual({ perAddress: 5 });
  });

  it.each([
    ["a zero limit", "{ perUser: 0 }", "routes.yaml: routes[0].rateLimit.perUser: must be a whole number of requests (1-1000000000)"],
    ["a negative limit", "{ perAddress: -10 }", "routes.yaml: routes[0].rateLimit.perAddress: must be a whole number of requests (1-1000000000)"],
    ["a fractional limit", "{ perAddress: 2.5 }", "routes.yaml: routes[0].rateLimit.perAddress: must be a whole number of requests (1-1000000000)"],
    ["a limit as a string", '{ perAddress: "10" }', "routes.yaml: routes[0].rateLimit.perAddress: must be a whole number of requests (1-1000000000)"],
    ["a zero window", "{ perUser: 5, windowS: 0 }", "routes.yaml: routes[0].rateLimit.windowS: must be a whole number of seconds (1-86400)"],
    ["a negative window", "{ perUser: 5, windowS: -5 }", "routes.yaml: routes[0].rateLimit.windowS: must be a whole number of seconds (1-86400)"],
    ["an unknown key", "{ perUser: 5, perMinute: 10 }", "routes.yaml: routes[0].rateLimit.perMinute: unknown field (expected perUser, perAddress, windowS)"],
    ["a misspelt key", "{ peruser: 5 }", "routes.yaml: routes[0].rateLimit.peruser: unknown field (expected perUser, perAddress, windowS)"],
    ["a word other than off", "on", 'routes.yaml: routes[0].rateLimit: must be "off" or { perUser, perAddress, windowS }'],
    ["a bare number", "100", 'routes.yaml: routes[0].rateLimit: must be "off" or { perUser, perAddress, windowS }'],
  ])("refuses %s with one line naming route and field", (_what, rateLimit, line) => {
    expect(problems(table(rateLimit))).toEqual([line]);
  });

  it("refuses perUser on a public route: there is no sub to count by", () => {
    expect(problems(table("{ perUser: 5 }", "none"))).toEqual(["routes.yaml: routes[0].rateLimit.perUser: needs auth: jwt (it counts by sub)"]);
  });
});
