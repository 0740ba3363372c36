import { HTTPException } from "../fastapi/exceptions.ts";
import { isEncodable } from "../fastapi/python-json.ts";
import { valid } from "../fastapi/pydantic.ts";
import { json, noContent } from "../fastapi/respond.ts";
import type { Route } from "../fastapi/router.ts";
import { parseSortOrder, parseStatusFilter, parseTaskChanges, parseTaskId, parseTaskInput } from "./schema.ts";
import type { Task, TaskStore } from "./store.ts";

/**
 * The six Spec 001 path operations, in the order the public implementations declare them. The
 * order is behaviour: a known path with another method answers 405 naming the methods of the
 * first route declared for that path (GET for both `/tasks` paths, PATCH for `/complete`).
 * The `{user_id}` segment is trusted as it comes: no token, no header is looked at.
 */
export function taskRoutes(store: TaskStore): readonly Route[] {
  return [
    {
      name: "tasks.list", method: "GET", path: "/api/{user_id}/tasks",
      handle: async ({ params, query }) => {
        const [status, sort] = valid(parseStatusFilter(query.get("status")), parseSortOrder(query.get("sort")));
        return json(200, await store.list(params.user_id!, { status, sort }));
      },
    },
    {
      name: "tasks.create", method: "POST", path: "/api/{user_id}/tasks", body: true,
      handle: async ({ params, body }) => {
        const [input] = valid(parseTaskInput(body));
        return json(201, await store.create(params.user_id!, storable(input)));
      },
    },
    {
      name: "tasks.get", method: "GET", path: "/api/{user_id}/tasks/{task_id}",
      handle: async ({ params }) => {
        const [taskId] = valid(parseTaskId(params.task_id!));
        return json(200, found(await store.get(params.user_id!, taskId)));
      },
    },
    {
      name: "tasks.update", method: "PUT", path: "/api/{user_id}/tasks/{task_id}", body: true,
      handle: async ({ params, body }) => {
        const [taskId, changes] = valid(parseTaskId(params.task_id!), parseTaskChanges(body));
        return json(200, found(await store.update(params.user_id!, taskId, storable(changes))));
      },
    },
    {
      name: "tasks.delete", method: "DELETE", path: "/api/{user_id}/tasks/{task_id}",
      handle: async ({ params }) => {
        const [taskId] = valid(parseTaskId(params.task_id!));
        if (!(await store.delete(params.user_id!, taskId))) throw taskNotFound();
        return noContent;
      },
    },
    {
      name: "tasks.complete", method: "PATCH", path: "/api/{user_id}/tasks/{task_id}/complete",
      handle: async ({ params }) => {
        const [taskId] = valid(parseTaskId(params.task_id!));
        return json(200, found(await store.toggle(params.user_id!, taskId)));
      },
    },
  ];
}

const taskNotFound = () => new HTTPException(404, "Task not found");

function found(task: Task | undefined): Task {
  if (!task) throw taskNotFound();
  return task;
}

/**
 * A lone UTF-16 surrogate (`"\ud800"`) passes pydantic but cannot be encoded as UTF-8, so the
 * FastAPI implementations fail writing it to their database: a 500, and nothing stored.
 */
function storable<T extends { readonly title?: string; readonly description?: string | null }>(input: T): T {
  for (const text of [input.title, input.description]) {
    if (typeof text === "string" && !isEncodable(text)) throw new Error("task text contains a lone surrogate and cannot be stored");
  }
  return input;
}
