/** A task as the API returns it (the Spec 001 `TaskResponse`). */
export interface Task {
  readonly id: number;
  readonly user_id: string;
  readonly title: string;
  readonly description: string | null;
  readonly completed: boolean;
  /** UTC without a zone, as pydantic writes SQLModel's naive `datetime.utcnow()`: `2026-11-24T09:51:00.123456`. */
  readonly created_at: string;
  readonly updated_at: string;
}

/** What POST accepts, already validated. */
export interface TaskInput {
  readonly title: string;
  readonly description: string | null;
}

/**
 * What PUT changes, already validated: only the fields present and not `null` in the body
 * (SQLModel's `TaskUpdate` applied field by field, skipping `None`).
 */
export interface TaskChanges {
  readonly title?: string;
  readonly description?: string;
  readonly completed?: boolean;
}

export type StatusFilter = "all" | "pending" | "completed";
/** `created_at`: newest first; `title`: A to Z (code point order, as SQLite compares text). */
export type SortOrder = "created_at" | "title";

export interface ListQuery {
  readonly status: StatusFilter;
  readonly sort: SortOrder;
}

/**
 * Where tasks live. Every method is scoped to one user: a task of another user is treated as
 * absent. Ids are assigned from 1 upward across all users and never reused, like a database
 * sequence.
 */
export interface TaskStore {
  /** The user's tasks, filtered by status, in the order asked for (ties: newest id first by date, lowest id first by title). */
  list(userId: string, query: ListQuery): Promise<Task[]>;
  create(userId: string, input: TaskInput): Promise<Task>;
  get(userId: string, id: number): Promise<Task | undefined>;
  /** Applies the changes and moves `updated_at`; `undefined` when the user has no such task. */
  update(userId: string, id: number, changes: TaskChanges): Promise<Task | undefined>;
  /** Flips `completed`; `undefined` when the user has no such task. */
  toggle(userId: string, id: number): Promise<Task | undefined>;
  /** `false` when the user has no such task. */
  delete(userId: string, id: number): Promise<boolean>;
  /** Releases what the store holds (a database file); the store is unusable afterwards. */
  close(): Promise<void>;
}

/** Microseconds since the Unix epoch (Python datetimes carry microseconds). */
export type Clock = () => number;

export const systemClock: Clock = () => Math.floor((performance.timeOrigin + performance.now()) * 1000);

/** A stored task, timestamps as microseconds since the epoch. */
export interface TaskRow {
  readonly id: number;
  readonly userId: string;
  readonly title: string;
  readonly description: string | null;
  readonly completed: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export class InMemoryTaskStore implements TaskStore {
  private readonly rows = new Map<number, TaskRow>();
  private lastId = 0;
  private readonly clock: Clock;

  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async list(userId: string, query: ListQuery): Promise<Task[]> {
    const order = query.sort === "title" ? byTitle : byNewest;
    return [...this.rows.values()]
      .filter((row) => row.userId === userId)
      .filter((row) => query.status === "all" || row.completed === (query.status === "completed"))
      .sort(order)
      .map(toTask);
  }

  async create(userId: string, input: TaskInput): Promise<Task> {
    const now = this.clock();
    const row: TaskRow = { id: ++this.lastId, userId, ...input, completed: false, createdAt: now, updatedAt: now };
    this.rows.set(row.id, row);
    return toTask(row);
  }

  async get(userId: string, id: number): Promise<Task | undefined> {
    const row = this.owned(userId, id);
    return row && toTask(row);
  }

  async update(userId: string, id: number, changes: TaskChanges): Promise<Task | undefined> {
    return this.change(userId, id, (row) => ({
      ...row,
      title: changes.title ?? row.title,
      description: changes.description ?? row.description,
      completed: changes.completed ?? row.completed,
    }));
  }

  async toggle(userId: string, id: number): Promise<Task | undefined> {
    return this.change(userId, id, (row) => ({ ...row, completed: !row.completed }));
  }

  async delete(userId: string, id: number): Promise<boolean> {
    return this.owned(userId, id) !== undefined && this.rows.delete(id);
  }

  async close(): Promise<void> {
    // Nothing held outside this object.
  }

  private change(userId: string, id: number, apply: (row: TaskRow) => TaskRow): Task | undefined {
    const row = this.owned(userId, id);
    if (!row) return undefined;
    const changed = { ...apply(row), updatedAt: this.clock() };
    this.rows.set(id, changed);
    return toTask(changed);
  }

  private owned(userId: string, id: number): TaskRow | undefined {
    const row = this.rows.get(id);
    return row?.userId === userId ? row : undefined;
  }
}

const byNewest = (a: TaskRow, b: TaskRow) => b.createdAt - a.createdAt || b.id - a.id;
const byTitle = (a: TaskRow, b: TaskRow) => compareCodePoints(a.title, b.title) || a.id - b.id;

/**
 * Orders strings by code point, as SQLite's BINARY collation orders UTF-8 text. JavaScript's
 * `<` compares UTF-16 units, which puts astral characters (surrogate pairs, U+D800-DFFF)
 * before U+E000-FFFF; shifting the units fixes that.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

export function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    user_id: row.userId,
    title: row.title,
    description: row.description,
    completed: row.completed,
    created_at: formatTimestamp(row.createdAt),
    updated_at: formatTimestamp(row.updatedAt),
  };
}

/**
 * pydantic v2's form of a naive datetime, which is what SQLModel gives back for a column filled
 * with `datetime.utcnow()`: UTC, no zone designator, six fraction digits (none when the
 * microseconds are all zero, as pydantic writes them).
 */
export function formatTimestamp(microseconds: number): string {
  const seconds = new Date(Math.floor(microseconds / 1_000_000) * 1000).toISOString().slice(0, 19);
  const fraction = ((microseconds % 1_000_000) + 1_000_000) % 1_000_000;
  return fraction === 0 ? seconds : `${seconds}.${String(fraction).padStart(6, "0")}`;
}
