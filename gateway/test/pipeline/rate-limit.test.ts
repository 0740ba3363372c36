/**
 * The rate-limit stage's unit of "one client": an attacker on IPv6 controls a whole /64 (2^64
 * source addresses) and a dual-stack socket may report one IPv4 client in two spellings; either
 * would multiply a per-address budget if addresses were counted as written. (The stage through
 * a running gateway, Redis included: security/rate-limits.test.ts and scale/behind-nginx.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { RateLimiter, addressKey } from "../../src/pipeline/rate-limit.ts";
import { MemoryStore } from "../../src/rate-limit/stores.ts";
import { TooManyRequestsError } from "../../src/errors.ts";

describe("addressKey", () => {
  it.each([
    ["203.0.113.9", "203.0.113.9"],
    ["::ffff:203.0.113.9", "203.0.113.9"],
    ["::FFFF:203.0.113.9", "203.0.113.9"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"],
    ["2001:DB8:1:2::5", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["2001:db8::1:2:3:4", "2001:db8:0:0::/64"],
    ["2001:db8::2:1:2:3:4", "2001:db8:0:2::/64"],
    ["2001:db8:0:0:1::", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["::", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["64:ff9b::192.0.2.1", "64:ff9b:0:0::/64"],
  ])("%s counts as %s", (address, key) => {
    expect(addressKey(address)).toBe(key);
  });

  it("gives every spelling of one /64 the same key, and neighbouring /64s different ones", () => {
    const spellings = ["2001:db8:a:b::1", "2001:db8:a:b:0:0:0:1", "2001:0db8:000a:000b::ffff", "2001:db8:a:b:1:2:3:4"];
    expect(new Set(spellings.map(addressKey)).size).toBe(1);
    expect(addressKey("2001:db8:a:c::1")).not.toBe(addressKey("2001:db8:a:b::1"));
  });
});

describe("RateLimiter per address", () => {
  const limit = { requests: 3, windowMs: 60_000, bucket: "default" };
  const limiter = () => new RateLimiter(new MemoryStore(), () => 1_000_000);

  it("shares one budget across a /64: a host rotating its source address is still one client", async () => {
    const rateLimiter = limiter();
    for (const address of ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3"]) await rateLimiter.take("address", address, limit, undefined);
    await expect(rateLimiter.take("address", "2001:db8:1:2:dead:beef:0:1", limit, undefined)).rejects.toBeInstanceOf(TooManyRequestsError);
    // The next /64 is someone else.
    await expect(rateLimiter.take("address", "2001:db8:1:3::1", limit, undefined)).resolves.toMatchObject({ remaining: 2 });
  });

  it("counts an IPv4 client once whether the socket reports it plain or IPv4-mapped", async () => {
    const rateLimiter = limiter();
    await rateLimiter.take("address", "198.51.100.7", limit, undefined);
    await rateLimiter.take("address", "::ffff:198.51.100.7", limit, undefined);
    await rateLimiter.take("address", "198.51.100.7", limit, undefined);
    await expect(rateLimiter.take("address", "::ffff:198.51.100.7", limit, undefined)).rejects.toBeInstanceOf(TooManyRequestsError);
    await expect(rateLimiter.take("address", "198.51.100.8", limit, undefined)).resolves.toMatchObject({ remaining: 2 });
  });

  it("counts users by their sub exactly, even when a sub looks like an address", async () => {
    const rateLimiter = limiter();
    for (const sub of ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3"]) await rateLimiter.take("user", sub, limit, undefined);
    await expect(rateLimiter.take("user", "2001:db8:1:2::4", limit, undefined)).resolves.toMatchObject({ remaining: 2 });
  });
});
