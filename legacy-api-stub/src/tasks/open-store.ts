import type { LegacyApiStoreConfig } from "@todo-gateway/config";
import { SqliteTaskStore } from "./sqlite-store.ts";
import { InMemoryTaskStore, type Clock, type TaskStore } from "./store.ts";

/** The store `LEGACY_API_DATABASE` names: in memory, or a SQLite file (opened and checked now). */
export function openTaskStore(config: LegacyApiStoreConfig, options: { clock?: Clock } = {}): TaskStore {
  return config.kind === "memory" ? new InMemoryTaskStore(options) : SqliteTaskStore.open(config.path, options);
}
