export { buildApp, type BuildAppOptions } from "./app.ts";
export {
  InMemoryTaskStore, formatTimestamp, systemClock,
  type Clock, type ListQuery, type SortOrder, type StatusFilter, type Task, type TaskChanges, type TaskInput, type TaskStore,
} from "./tasks/store.ts";
export { SqliteTaskStore, TaskStoreOpenError } from "./tasks/sqlite-store.ts";
export { openTaskStore } from "./tasks/open-store.ts";
export { DESCRIPTION_MAX_LENGTH, SORT_ORDERS, STATUS_FILTERS, TITLE_MAX_LENGTH } from "./tasks/schema.ts";
