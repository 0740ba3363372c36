/** The API's zoneless UTC timestamps, read as UTC, and how the page words their age. */
import { describe, expect, it } from "vitest";
import { exactTime, parseApiTimestamp, relativeTime } from "../src/dates.ts";

describe("parseApiTimestamp", () => {
  it("reads a zoneless timestamp (SQLModel's naive utcnow) as UTC, whatever the reader's zone", () => {
    expect(parseApiTimestamp("2026-11-24T08:15:12.055032")?.toISOString()).toBe("2026-11-24T08:15:12.055Z");
    expect(parseApiTimestamp("2026-11-24T08:15:12")?.toISOString()).toBe("2026-11-24T08:15:12.000Z");
  });

  it("reads a timestamp with Z or an offset as written", () => {
    expect(parseApiTimestamp("2026-11-24T08:15:12.055032Z")?.toISOString()).toBe("2026-11-24T08:15:12.055Z");
    expect(parseApiTimestamp("2026-11-24T09:15:12+01:00")?.toISOString()).toBe("2026-11-24T08:15:12.000Z");
  });

  it("refuses what is not a date-time", () => {
    for (const text of ["", "yesterday", "2026-11-24", "2026-13-45T99:99:99", "1764000000"]) expect(parseApiTimestamp(text)).toBeUndefined();
  });
});

describe("relativeTime", () => {
  const now = new Date("2026-11-24T12:00:00Z");
  const ago = (seconds: number) => relativeTime(new Date(now.getTime() - seconds * 1000), now);

  it.each([
    [0, "just now"],
    [-30, "just now"],
    [44, "just now"],
    [60, "1 minute ago"],
    [3 * 60 + 10, "3 minutes ago"],
    [2 * 3600, "2 hours ago"],
    [26 * 3600, "yesterday"],
    [3 * 86400, "3 days ago"],
    [8 * 86400, "last week"],
    [40 * 86400, "last month"],
    [400 * 86400, "last year"],
  ])("words %i seconds as %s", (seconds, text) => {
    expect(ago(seconds)).toBe(text);
  });
});

describe("exactTime", () => {
  it("writes the instant in the reader's zone, naming the zone", () => {
    const date = new Date("2026-11-24T08:15:12Z");
    expect(exactTime(date, "en-US", "UTC")).toBe("November 24, 2026 at 8:15:12 AM UTC");
    expect(exactTime(date, "en-US", "Asia/Tokyo")).toBe("November 24, 2026 at 5:15:12 PM GMT+9");
  });
});
