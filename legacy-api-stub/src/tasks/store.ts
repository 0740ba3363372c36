/** A task as the API returns it (the Spec 001 `TaskResponse`). */
export interface Task {
  readonly id: number;
  readonly user_id: string;
  readonly title: string;
  readonly description: string | null;
  readonly completed: boolean;
  /** ISO 8601 UTC, as pydantic writes an aware datetime: `2026-11-24T09:51:00.123456Z`. */
  readonly created_at: string;
  readonly updated_at: string;
}

/** What POST and PUT accept, already validated. */
export interface TaskInput {
  readonly title: string;
  readonly description: string | null;
}

export type StatusFilter = "all" | "pending" | "completed";

/**
 * Where tasks live. Every method is scoped to one user: a task of another user is treated as
 * absent. Ids are assigned from 1 upward across all users and never reused, like a database
 * sequence.
 */
export interface TaskStore {
  /** The user's tasks, newest first (by `created_at`, then id). */
  list(userId: string, status: StatusFilter): Promise<Task[]>;
  create(userId: string, input: TaskInput): Promise<Task>;
  get(userId: string, id: number): Promise<Task | undefined>;
  /** Replaces title and description; `undefined` when the user has no such task. */
  replace(userId: string, id: number, input: TaskInput): Promise<Task | undefined>;
  /** Flips `completed`; `undefined` when the user has no such task. */
  toggle(userId: string, id: number): Promise<Task | undefined>;
  /** `false` when the user has no such task. */
  delete(userId: string, id: number): Promise<boolean>;
}

/** Microseconds since the Unix epoch (Python datetimes carry microseconds). */
export type Clock = () => number;

export const systemClock: Clock = () => Math.floor((performance.timeOrigin + performance.now()) * 1000);

interface Row {
  readonly id: number;
  readonly userId: string;
  title: string;
  description: string | null;
  completed: boolean;
  readonly createdAt: number;
  updatedAt: number;
}

export class InMemoryTaskStore implements TaskStore {
  private readonly rows = new Map<number, Row>();
  private lastId = 0;
  private readonly clock: Clock;

  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async list(userId: string, status: StatusFilter): Promise<Task[]> {
    return [...this.rows.values()]
      .filter((row) => row.userId === userId)
      .filter((row) => status === "all" || row.completed === (status === "completed"))
      .sort((a, b) => b.createdAt - a.createdAt || b.id - a.id)
      .map(toTask);
  }

  async create(userId: string, input: TaskInput): Promise<Task> {
    const now = this.clock();
    const row: Row = { id: ++this.lastId, userId, ...input, completed: false, createdAt: now, updatedAt: now };
    this.rows.set(row.id, row);
    return toTask(row);
  }

  async get(userId: string, id: number): Promise<Task | undefined> {
    const row = this.owned(userId, id);
    return row && toTask(row);
  }

  async replace(userId: string, id: number, input: TaskInput): Promise<Task | undefined> {
    return this.update(userId, id, (row) => {
      row.title = input.title;
      row.description = input.description;
    });
  }

  async toggle(userId: string, id: number): Promise<Task | undefined> {
    return this.update(userId, id, (row) => {
      row.completed = !row.completed;
    });
  }

  async delete(userId: string, id: number): Promise<boolean> {
    return this.owned(userId, id) !== undefined && this.rows.delete(id);
  }

  private update(userId: string, id: number, change: (row: Row) => void): Task | undefined {
    const row = this.owned(userId, id);
    if (!row) return undefined;
    change(row);
    row.updatedAt = this.clock();
    return toTask(row);
  }

  private owned(userId: string, id: number): Row | undefined {
    const row = this.rows.get(id);
    return row?.userId === userId ? row : undefined;
  }
}

function toTask(row: Row): Task {
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
 * pydantic v2's form of an aware UTC datetime: six fraction digits, none when the microseconds
 * are zero, and `Z`.
 */
export function formatTimestamp(microseconds: number): string {
  const seconds = new Date(Math.floor(microseconds / 1000)).toISOString().slice(0, 19);
  const fraction = ((microseconds % 1_000_000) + 1_000_000) % 1_000_000;
  return fraction === 0 ? `${seconds}Z` : `${seconds}.${String(fraction).padStart(6, "0")}Z`;
}
