import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { systemClock, toTask, type Clock, type ListQuery, type Task, type TaskChanges, type TaskInput, type TaskRow, type TaskStore } from "./store.ts";

/**
 * Tasks in a SQLite file, so they outlive the process as they do in the real back ends'
 * database. Every write is one transaction, the journal is a write-ahead log synced at each
 * commit: a crash mid-write loses at most the write that was not yet answered, never the file.
 */

/** Written into the file's header (`PRAGMA user_version`); a file with another value is not ours. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
  CREATE TABLE task (
    id          INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: ids are never reused
    user_id     TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    description TEXT,
    completed   INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
    created_at  INTEGER NOT NULL, -- microseconds since the Unix epoch, UTC
    updated_at  INTEGER NOT NULL
  );
  CREATE INDEX task_user_created ON task (user_id, created_at DESC, id DESC);
`;

/** Why a task database cannot be used, phrased for the one line printed at start-up. */
export class TaskStoreOpenError extends Error {
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${reason}`, options);
    this.name = "TaskStoreOpenError";
  }
}

interface StoredRow {
  readonly id: number;
  readonly user_id: string;
  readonly title: string;
  readonly description: string | null;
  readonly completed: number;
  readonly created_at: number;
  readonly updated_at: number;
}

export class SqliteTaskStore implements TaskStore {
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly statements;

  /**
   * Opens (or creates, with its folder) the task database at `path` and checks it: a file that is
   * not a SQLite database, is damaged, cannot be opened or belongs to something else throws
   * {@link TaskStoreOpenError} instead of starting empty.
   */
  static open(path: string, options: { clock?: Clock } = {}): SqliteTaskStore {
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      db.pragma("busy_timeout = 5000");
      // Reads the header: a file that is not a database fails here (SQLITE_NOTADB).
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      const damage = checkPages(db);
      if (damage) throw new TaskStoreOpenError(path, `the database is damaged (${damage})`);
      prepareSchema(db, path);
      return new SqliteTaskStore(db, options.clock ?? systemClock);
    } catch (error) {
      if (db?.open) db.close();
      if (error instanceof TaskStoreOpenError) throw error;
      throw new TaskStoreOpenError(path, describeOpenFailure(error), { cause: error });
    }
  }

  private constructor(db: Database.Database, clock: Clock) {
    this.db = db;
    this.clock = clock;
    const columns = "id, user_id, title, description, completed, created_at, updated_at";
    this.statements = {
      // `completed IN (?, ?)`: (0, 1) for all, (0, 0) pending, (1, 1) completed.
      listNewest: db.prepare<[string, number, number], StoredRow>(
        `SELECT ${columns} FROM task WHERE user_id = ? AND completed IN (?, ?) ORDER BY created_at DESC, id DESC`,
      ),
      // BINARY collation compares UTF-8 bytes, that is code points.
      listByTitle: db.prepare<[string, number, number], StoredRow>(
        `SELECT ${columns} FROM task WHERE user_id = ? AND completed IN (?, ?) ORDER BY title COLLATE BINARY ASC, id ASC`,
      ),
      insert: db.prepare<[string, string, string | null, number, number], StoredRow>(
        `INSERT INTO task (user_id, title, description, completed, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?) RETURNING ${columns}`,
      ),
      get: db.prepare<[number, string], StoredRow>(`SELECT ${columns} FROM task WHERE id = ? AND user_id = ?`),
      update: db.prepare<[string | null, string | null, number | null, number, number, string], StoredRow>(
        `UPDATE task SET title = coalesce(?, title), description = coalesce(?, description), completed = coalesce(?, completed), updated_at = ?
         WHERE id = ? AND user_id = ? RETURNING ${columns}`,
      ),
      toggle: db.prepare<[number, number, string], StoredRow>(
        `UPDATE task SET completed = 1 - completed, updated_at = ? WHERE id = ? AND user_id = ? RETURNING ${columns}`,
      ),
      delete: db.prepare<[number, string]>("DELETE FROM task WHERE id = ? AND user_id = ?"),
    };
  }

  async list(userId: string, query: ListQuery): Promise<Task[]> {
    const statement = query.sort === "title" ? this.statements.listByTitle : this.statements.listNewest;
    const [low, high] = query.status === "all" ? [0, 1] : query.status === "completed" ? [1, 1] : [0, 0];
    return statement.all(userId, low, high).map(fromStored);
  }

  async create(userId: string, input: TaskInput): Promise<Task> {
    const now = this.clock();
    return fromStored(this.statements.insert.get(userId, input.title, input.description, now, now)!);
  }

  async get(userId: string, id: number): Promise<Task | undefined> {
    const row = this.statements.get.get(id, userId);
    return row && fromStored(row);
  }

  async update(userId: string, id: number, changes: TaskChanges): Promise<Task | undefined> {
    const completed = changes.completed === undefined ? null : Number(changes.completed);
    const row = this.statements.update.get(changes.title ?? null, changes.description ?? null, completed, this.clock(), id, userId);
    return row && fromStored(row);
  }

  async toggle(userId: string, id: number): Promise<Task | undefined> {
    const row = this.statements.toggle.get(this.clock(), id, userId);
    return row && fromStored(row);
  }

  async delete(userId: string, id: number): Promise<boolean> {
    return this.statements.delete.run(id, userId).changes > 0;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** Creates the schema in a new file; accepts only a file this store created. */
function prepareSchema(db: Database.Database, path: string): void {
  const setUp = db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version === SCHEMA_VERSION) return;
    if (version !== 0) throw new TaskStoreOpenError(path, `schema version ${version}, this stub knows only ${SCHEMA_VERSION}`);
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number };
    if (tables.n > 0) throw new TaskStoreOpenError(path, "a SQLite database of something else (it has tables but no task store)");
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
  // IMMEDIATE: two stubs starting on one new file do not both create the schema.
  setUp.immediate();
}

/** `PRAGMA quick_check` in one line: `undefined` when every page is sound, else the first finding. */
function checkPages(db: Database.Database): string | undefined {
  const findings = (db.pragma("quick_check") as { quick_check: string }[])
    .flatMap((row) => row.quick_check.split("\n"))
    .map((line) => line.trim())
    .filter((line) => line !== "" && line !== "ok" && !line.startsWith("*** in database"));
  if (findings.length === 0) return undefined;
  return findings.length === 1 ? findings[0] : `${findings[0]}, and ${findings.length - 1} more problems`;
}

function describeOpenFailure(error: unknown): string {
  const err = error as { code?: unknown; message?: unknown };
  const message = typeof err.message === "string" ? err.message.split("\n")[0]! : String(error);
  if (err.code === "SQLITE_NOTADB") return "not a SQLite database (the file is corrupt or something else)";
  if (err.code === "SQLITE_CORRUPT") return `the database is damaged (${message})`;
  if (err.code === "SQLITE_CANTOPEN") return `cannot be opened (${message}: a missing folder, a directory, or no permission)`;
  if (err.code === "EEXIST" || err.code === "ENOTDIR" || err.code === "EACCES" || err.code === "EROFS") {
    return `its folder cannot be created (${message})`;
  }
  return typeof err.code === "string" ? `${message} (${err.code})` : message;
}

function fromStored(row: StoredRow): Task {
  const taskRow: TaskRow = {
    id: row.id,
    userId: row.user_id,
    title: row.title,
    description: row.description,
    completed: row.completed === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  return toTask(taskRow);
}
