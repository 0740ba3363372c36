/**
 * The outbox: the `revocationEvent` table, read and written only through Better Auth's adapter
 * (so the same code runs on SQLite and PostgreSQL, Better Auth's migrations create the table,
 * and a write made while Better Auth holds a transaction joins it). docs/revocation.md §2.
 */
import { getCurrentAdapter, type AuthContext, type BetterAuthPlugin } from "better-auth";

/** The Better Auth model (and table) name. */
export const REVOCATION_EVENT_MODEL = "revocationEvent";

/**
 * The table, as a Better Auth plugin schema. Only what transport needs is stored: the signed
 * event (the claims are inside it), when it was written (the order of the feed and the stream),
 * when it may be forgotten, and whether the Redis relay has delivered it.
 */
export const revocationEventSchema = {
  [REVOCATION_EVENT_MODEL]: {
    fields: {
      /** The compact JWS, signed once when the event was written. */
      token: { type: "string", required: true },
      /** When the event was written (ms precision): feed and stream order. */
      createdAt: { type: "date", required: true, index: true },
      /** The event's `exp`: the row is served until then and deleted after. */
      expiresAt: { type: "date", required: true, index: true },
      /** Whether the Redis relay has added it to the stream (always false without `REDIS_URL`). */
      relayed: { type: "boolean", required: true, defaultValue: false, index: true },
    },
  },
} satisfies NonNullable<BetterAuthPlugin["schema"]>;

/** A row as stored; `id` is the event's `jti`. */
export interface OutboxRow {
  readonly id: string;
  readonly token: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly relayed: boolean;
}

/** An unexpired event as the transports need it. */
export type OutboxEvent = Pick<OutboxRow, "id" | "token" | "createdAt">;

/**
 * The most events one read returns (the feed's answer, a republish). Far above what a deployment
 * of this size keeps (every sign-out of the last ~16 minutes); past it a read is cut to the newest
 * and the caller logs it.
 */
export const MAX_OUTBOX_READ = 20_000;

const ascending = { field: "createdAt", direction: "asc" } as const;

/** Orders events by write time, then id: what the feed serves and the relay adds. */
export function byCreation(a: OutboxEvent, b: OutboxEvent): number {
  return a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The outbox's queries. Every read is bounded. */
export class Outbox {
  constructor(private readonly context: () => AuthContext) {}

  /** The adapter to use now: the transaction's when Better Auth holds one, else the base one. */
  private adapter() {
    const base = this.context().adapter;
    return getCurrentAdapter(base);
  }

  async insert(row: Omit<OutboxRow, "relayed">): Promise<void> {
    const adapter = await this.adapter();
    await adapter.create({ model: REVOCATION_EVENT_MODEL, data: { ...row, relayed: false }, forceAllowId: true });
  }

  /**
   * Unexpired events, oldest first, at most `limit` (the newest ones when there are more;
   * `truncated` says so).
   */
  async unexpired(nowMs: number, limit = MAX_OUTBOX_READ): Promise<{ events: OutboxEvent[]; truncated: boolean }> {
    const adapter = await this.adapter();
    const rows = await adapter.findMany<OutboxRow>({
      model: REVOCATION_EVENT_MODEL,
      where: [{ field: "expiresAt", operator: "gt", value: new Date(nowMs) }],
      sortBy: { field: "createdAt", direction: "desc" },
      select: ["id", "token", "createdAt"],
      limit: limit + 1,
    });
    const truncated = rows.length > limit;
    const events = rows.slice(0, limit).map((row) => ({ id: row.id, token: row.token, createdAt: new Date(row.createdAt) }));
    return { events: events.sort(byCreation), truncated };
  }

  /** The ids of the unexpired events (what the feed's version is computed from), at most `limit`. */
  async unexpiredIds(nowMs: number, limit = MAX_OUTBOX_READ): Promise<string[]> {
    const adapter = await this.adapter();
    const rows = await adapter.findMany<Pick<OutboxRow, "id">>({
      model: REVOCATION_EVENT_MODEL,
      where: [{ field: "expiresAt", operator: "gt", value: new Date(nowMs) }],
      sortBy: { field: "createdAt", direction: "desc" },
      // The sort field must be selected: Better Auth sorts again outside its sub-select.
      select: ["id", "createdAt"],
      limit,
    });
    return rows.map((row) => row.id);
  }

  /** Unexpired events the relay has not delivered yet, oldest first. */
  async unrelayed(nowMs: number, limit: number): Promise<OutboxEvent[]> {
    const adapter = await this.adapter();
    const rows = await adapter.findMany<OutboxRow>({
      model: REVOCATION_EVENT_MODEL,
      where: [
        { field: "relayed", value: false },
        { field: "expiresAt", operator: "gt", value: new Date(nowMs) },
      ],
      sortBy: ascending,
      select: ["id", "token", "createdAt"],
      limit,
    });
    return rows.map((row) => ({ id: row.id, token: row.token, createdAt: new Date(row.createdAt) })).sort(byCreation);
  }

  /** How many unexpired events the relay has delivered (each is in the stream unless Redis lost it). */
  async countRelayed(nowMs: number): Promise<number> {
    const adapter = await this.adapter();
    return adapter.count({
      model: REVOCATION_EVENT_MODEL,
      where: [
        { field: "relayed", value: true },
        { field: "expiresAt", operator: "gt", value: new Date(nowMs) },
      ],
    });
  }

  /** When the oldest unexpired event was written (`undefined`: none). */
  async oldestUnexpired(nowMs: number): Promise<Date | undefined> {
    const adapter = await this.adapter();
    const [row] = await adapter.findMany<OutboxRow>({
      model: REVOCATION_EVENT_MODEL,
      where: [{ field: "expiresAt", operator: "gt", value: new Date(nowMs) }],
      sortBy: ascending,
      select: ["createdAt"],
      limit: 1,
    });
    return row === undefined ? undefined : new Date(row.createdAt);
  }

  async markRelayed(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const adapter = await this.adapter();
    await adapter.updateMany({ model: REVOCATION_EVENT_MODEL, where: [{ field: "id", operator: "in", value: [...ids] }], update: { relayed: true } });
  }

  /** Deletes at most `limit` expired rows; returns how many. */
  async deleteExpired(nowMs: number, limit: number): Promise<number> {
    const adapter = await this.adapter();
    const rows = await adapter.findMany<Pick<OutboxRow, "id">>({
      model: REVOCATION_EVENT_MODEL,
      where: [{ field: "expiresAt", operator: "lte", value: new Date(nowMs) }],
      select: ["id"],
      limit,
    });
    if (rows.length === 0) return 0;
    await adapter.deleteMany({ model: REVOCATION_EVENT_MODEL, where: [{ field: "id", operator: "in", value: rows.map((row) => row.id) }] });
    return rows.length;
  }

  /** Every row, for tests and diagnostics (bounded). */
  async all(limit = MAX_OUTBOX_READ): Promise<OutboxRow[]> {
    const adapter = await this.adapter();
    const rows = await adapter.findMany<OutboxRow>({ model: REVOCATION_EVENT_MODEL, sortBy: ascending, limit });
    return rows.map((row) => ({ ...row, createdAt: new Date(row.createdAt), expiresAt: new Date(row.expiresAt) })).sort(byCreation);
  }
}
