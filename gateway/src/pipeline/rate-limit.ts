import type { GatewayConfig, RouteSpec } from "@todo-gateway/config";
import { TooManyRequestsError } from "../errors.ts";
import type { RateLimitStore, WindowCount } from "../rate-limit/stores.ts";

/** One limit: so many requests per window, counted in one bucket. */
export interface Limit {
  readonly requests: number;
  readonly windowMs: number;
  /** Routes on the defaults share `default`; a route with its own limits counts in its own. */
  readonly bucket: string;
}

/** A route's limits, resolved against the environment's defaults once, when the table loads. */
export interface RouteLimits {
  readonly perUser: Limit | undefined;
  readonly perAddress: Limit | undefined;
}

const NONE: RouteLimits = Object.freeze({ perUser: undefined, perAddress: undefined });

/** What the response tells the client about its limit (the tightest one counted). */
export interface LimitState {
  readonly limit: number;
  readonly remaining: number;
  readonly resetS: number;
}

export function routeLimits(route: RouteSpec, defaults: GatewayConfig["rateLimits"]): RouteLimits {
  // The gateway's own endpoints (a load balancer's probes) are never limited.
  if (route.target.kind === "ops" || route.rateLimit === "off") return NONE;
  const own = route.rateLimit;
  const windowMs = (own?.windowS ?? defaults.windowS) * 1000;
  const bucket = own === undefined ? "default" : route.name;
  const perUser = route.auth === "jwt" ? (own?.perUser ?? defaults.perUser) : undefined;
  const perAddress = own?.perAddress ?? defaults.perAddress;
  if (perUser === undefined && perAddress === undefined) return NONE;
  return {
    perUser: perUser === undefined ? undefined : { requests: perUser, windowMs, bucket },
    perAddress: perAddress === undefined ? undefined : { requests: perAddress, windowMs, bucket },
  };
}

/** The defaults' per-address limit, for requests no route matched (a scanner's 404s count too). */
export function unmatchedLimits(defaults: GatewayConfig["rateLimits"]): RouteLimits {
  if (defaults.perAddress === undefined) return NONE;
  return { perUser: undefined, perAddress: { requests: defaults.perAddress, windowMs: defaults.windowS * 1000, bucket: "default" } };
}

/**
 * The rate-limit stage: fixed windows per client address (every route) and per `sub`
 * (protected routes), counted in the store (Redis when `REDIS_URL` is set, so the limit holds
 * across workers and instances; this process's memory otherwise, or while Redis is away).
 * Past a limit, 429 with Retry-After; every limited answer carries the RateLimit headers of
 * the tightest limit.
 */
export class RateLimiter {
  constructor(private readonly store: RateLimitStore, private readonly now: () => number = Date.now) {}

  /**
   * Counts this request against `limit` for `id` (a `sub`, or a client address: counted by
   * {@link addressKey}); throws 429 past it.
   */
  async take(kind: "user" | "address", id: string, limit: Limit, tightest: LimitState | undefined): Promise<LimitState> {
    const windowStart = Math.floor(this.now() / limit.windowMs) * limit.windowMs;
    const who = kind === "address" ? addressKey(id) : id;
    const count: WindowCount = await this.store.hit(`${limit.bucket}:${kind}:${who}:${windowStart}`, limit.windowMs);
    const resetS = Math.max(1, Math.ceil((windowStart + limit.windowMs - this.now()) / 1000));
    const state = { limit: limit.requests, remaining: Math.max(0, limit.requests - count), resetS };
    if (count > limit.requests) {
      throw new TooManyRequestsError(kind === "user" ? "too many requests for this user; slow down" : "too many requests from this address; slow down", state);
    }
    return tightest === undefined || state.remaining < tightest.remaining ? state : tightest;
  }
}

/**
 * What one client address counts as. An IPv4 address (also written IPv4-mapped, `::ffff:a.b.c.d`,
 * as a dual-stack socket reports it) is itself; an IPv6 address counts by its /64, the smallest
 * block a site is given (RFC 6177): one host can pick any of 2^64 addresses in it, so counting
 * single addresses would let it rotate past any limit. A zone (`%eth0`) is dropped.
 */
export function addressKey(address: string): string {
  if (!address.includes(":")) return address;
  const lower = address.toLowerCase();
  if (lower.startsWith("::ffff:") && lower.includes(".")) return lower.slice(7);
  const zone = lower.indexOf("%");
  const plain = zone === -1 ? lower : lower.slice(0, zone);
  const gap = plain.indexOf("::");
  const head = (gap === -1 ? plain : plain.slice(0, gap)).split(":").filter((group) => group !== "");
  if (gap !== -1 && head.length < 4) {
    // The `::` falls inside the first four groups: what follows it is counted from the right.
    const tail = plain.slice(gap + 2).split(":").filter((group) => group !== "");
    const tailGroups = tail.reduce((groups, group) => groups + (group.includes(".") ? 2 : 1), 0);
    const zeros = 8 - head.length - tailGroups;
    const groups = [...head, ...Array<string>(Math.max(0, zeros)).fill("0"), ...tail];
    return `${groups.slice(0, 4).map(trimZeros).join(":")}::/64`;
  }
  return `${head.slice(0, 4).map(trimZeros).join(":")}::/64`;
}

function trimZeros(group: string): string {
  return group.replace(/^0+(?=.)/, "");
}
