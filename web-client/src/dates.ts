/**
 * The task API's timestamps, read and shown. The API writes UTC without a zone
 * (`2026-11-24T08:15:12.055032`, SQLModel's naive `datetime.utcnow()`); `Date` would read such a
 * string as local time, so a zoneless timestamp is taken as UTC here. One with `Z` or an offset
 * is read as written.
 */
const ZONED = /(?:Z|[+-]\d{2}:?\d{2})$/i;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i;

/** The instant a timestamp of the API names; `undefined` when it is not one. */
export function parseApiTimestamp(text: string): Date | undefined {
  if (!ISO_DATE_TIME.test(text)) return undefined;
  // Date.parse keeps milliseconds only; the API's microseconds do not matter to a person.
  const date = new Date(ZONED.test(text) ? text : `${text}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const UNITS: readonly [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

/** "just now", "3 minutes ago", "yesterday", "2 months ago"; a clock a little ahead reads "just now". */
export function relativeTime(date: Date, now: Date): string {
  const seconds = (now.getTime() - date.getTime()) / 1000;
  if (seconds < 45) return "just now";
  for (const [unit, size] of UNITS) {
    if (seconds >= size) return relative.format(-Math.floor(seconds / size), unit);
  }
  return relative.format(-Math.max(1, Math.round(seconds / 60)), "minute");
}

/** The exact time, in the reader's own zone and language, with the zone named: for a tooltip. */
export function exactTime(date: Date, locale?: string, timeZone?: string): string {
  return date.toLocaleString(locale, { dateStyle: "long", timeStyle: "long", ...(timeZone ? { timeZone } : {}) });
}
