export { buildApp, type BuildAppOptions } from "./app.ts";
export {
  InMemoryTaskStore, formatTimestamp, systemClock,
  type Clock, type StatusFilter, type Task, type TaskInput, type TaskStore,
} from "./tasks/store.ts";
export { DESCRIPTION_MAX_LENGTH, STATUS_FILTERS, TITLE_MAX_LENGTH } from "./tasks/schema.ts";
