import type { RequestBody } from "../fastapi/request-body.ts";
import {
  missing, parseIntString, parseLiteral, parseModelInput, parseOptionalBool, parseOptionalString, parseString, type Parsed,
} from "../fastapi/pydantic.ts";
import type { ValidationIssue } from "../fastapi/exceptions.ts";
import type { SortOrder, StatusFilter, TaskChanges, TaskInput } from "./store.ts";

/**
 * The Spec 001 request schema, as the public FastAPI + SQLModel implementations declare it:
 *
 *     class TaskCreate(SQLModel):
 *         title: str = Field(min_length=1, max_length=200)
 *         description: Optional[str] = Field(default=None, max_length=1000)
 *
 *     class TaskUpdate(SQLModel):                      # PUT: every field optional
 *         title: Optional[str] = Field(default=None, min_length=1, max_length=200)
 *         description: Optional[str] = Field(default=None, max_length=1000)
 *         completed: Optional[bool] = None
 *
 *     task_id: int                                                 # path
 *     status: Literal["all", "pending", "completed"] = Query("all")
 *     sort: Literal["created_at", "title"] = Query("created_at")
 */
export const TITLE_MAX_LENGTH = 200;
export const DESCRIPTION_MAX_LENGTH = 1000;
export const STATUS_FILTERS: readonly StatusFilter[] = ["all", "pending", "completed"];
export const SORT_ORDERS: readonly SortOrder[] = ["created_at", "title"];

/** The `{task_id}` path segment as an `int` path parameter. */
export function parseTaskId(raw: string): Parsed<number> {
  return parseIntString(raw, ["path", "task_id"]);
}

/** An absent `status` means `all`; FastAPI reads the last value of a repeated one. */
export function parseStatusFilter(raw: string | undefined): Parsed<StatusFilter> {
  return raw === undefined ? { ok: true, value: "all" } : parseLiteral(raw, ["query", "status"], STATUS_FILTERS);
}

/** An absent `sort` means `created_at` (newest first); an unknown one is refused like `status`. */
export function parseSortOrder(raw: string | undefined): Parsed<SortOrder> {
  return raw === undefined ? { ok: true, value: "created_at" } : parseLiteral(raw, ["query", "sort"], SORT_ORDERS);
}

const TITLE_LIMITS = { min: 1, max: TITLE_MAX_LENGTH };
const DESCRIPTION_LIMITS = { max: DESCRIPTION_MAX_LENGTH };

/** The POST body: unknown fields are ignored, every field's issues are reported in order. */
export function parseTaskInput(body: RequestBody): Parsed<TaskInput> {
  const model = parseModelInput(body, ["body"]);
  if (!model.ok) return model;
  const fields = model.value;
  const title = fields.has("title")
    ? parseString(fields.get("title")!, ["body", "title"], TITLE_LIMITS)
    : ({ ok: false, issues: [missing(["body", "title"], fields)] } as const);
  const description = parseOptionalString(fields.get("description") ?? null, ["body", "description"], DESCRIPTION_LIMITS);
  if (title.ok && description.ok) return { ok: true, value: { title: title.value, description: description.value } };
  return { ok: false, issues: issuesOf(title, description) };
}

/**
 * The PUT body (`TaskUpdate`): every field optional; a field left out or sent as `null` is
 * left as it is, so `null` cannot clear a description (`""` does). Unknown fields are ignored.
 */
export function parseTaskChanges(body: RequestBody): Parsed<TaskChanges> {
  const model = parseModelInput(body, ["body"]);
  if (!model.ok) return model;
  const fields = model.value;
  const title = parseOptionalString(fields.get("title") ?? null, ["body", "title"], TITLE_LIMITS);
  const description = parseOptionalString(fields.get("description") ?? null, ["body", "description"], DESCRIPTION_LIMITS);
  const completed = parseOptionalBool(fields.get("completed") ?? null, ["body", "completed"]);
  if (!title.ok || !description.ok || !completed.ok) return { ok: false, issues: issuesOf(title, description, completed) };
  const changes: { title?: string; description?: string; completed?: boolean } = {};
  if (title.value !== null) changes.title = title.value;
  if (description.value !== null) changes.description = description.value;
  if (completed.value !== null) changes.completed = completed.value;
  return { ok: true, value: changes };
}

function issuesOf(...results: readonly Parsed<unknown>[]): ValidationIssue[] {
  return results.flatMap((result) => (result.ok ? [] : result.issues));
}
