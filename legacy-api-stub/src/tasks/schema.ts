import type { RequestBody } from "../fastapi/request-body.ts";
import {
  missing, parseIntString, parseLiteral, parseModelInput, parseOptionalString, parseString, type Parsed,
} from "../fastapi/pydantic.ts";
import type { StatusFilter, TaskInput } from "./store.ts";

/**
 * The Spec 001 request schema, as the public FastAPI implementations declare it:
 *
 *     class TaskCreate(SQLModel):
 *         title: str = Field(min_length=1, max_length=200)
 *         description: Optional[str] = Field(default=None, max_length=1000)
 *
 *     task_id: int                                   # path
 *     status: Literal["all", "pending", "completed"] = Query("all")
 */
export const TITLE_MAX_LENGTH = 200;
export const DESCRIPTION_MAX_LENGTH = 1000;
export const STATUS_FILTERS: readonly StatusFilter[] = ["all", "pending", "completed"];

/** The `{task_id}` path segment as an `int` path parameter. */
export function parseTaskId(raw: string): Parsed<number> {
  return parseIntString(raw, ["path", "task_id"]);
}

/** An absent `status` means `all`; FastAPI reads the last value of a repeated one. */
export function parseStatusFilter(raw: string | undefined): Parsed<StatusFilter> {
  return raw === undefined ? { ok: true, value: "all" } : parseLiteral(raw, ["query", "status"], STATUS_FILTERS);
}

/** The POST and PUT body: unknown fields are ignored, every field's issues are reported in order. */
export function parseTaskInput(body: RequestBody): Parsed<TaskInput> {
  const model = parseModelInput(body, ["body"]);
  if (!model.ok) return model;
  const fields = model.value;
  const title = fields.has("title")
    ? parseString(fields.get("title")!, ["body", "title"], { min: 1, max: TITLE_MAX_LENGTH })
    : ({ ok: false, issues: [missing(["body", "title"], fields)] } as const);
  const description = parseOptionalString(fields.get("description") ?? null, ["body", "description"], { max: DESCRIPTION_MAX_LENGTH });
  if (title.ok && description.ok) return { ok: true, value: { title: title.value, description: description.value } };
  return { ok: false, issues: [...(title.ok ? [] : title.issues), ...(description.ok ? [] : description.issues)] };
}
