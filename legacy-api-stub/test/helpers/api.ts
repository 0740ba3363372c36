import type { FastifyInstance } from "fastify";
import { loadLegacyApiConfig } from "@todo-gateway/config";
import { buildApp } from "../../src/app.ts";
import { InMemoryTaskStore, type Clock, type TaskStore } from "../../src/tasks/store.ts";

/** 2026-01-01T00:00:00Z, in microseconds. */
export const CLOCK_START_US = Date.UTC(2026, 0, 1) * 1000;

/** A pinned clock: the first reading is {@link CLOCK_START_US}, each later one a second after. */
export function tickingClock(stepUs = 1_000_000): Clock {
  let now = CLOCK_START_US - stepUs;
  return () => (now += stepUs);
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body; `undefined` when it is empty. */
  readonly body: unknown;
}

export interface RunningApi {
  readonly url: string;
  readonly store: TaskStore;
  /** Sends a request; a plain object `json` is sent as `application/json`. */
  call(method: string, path: string, init?: { json?: unknown; body?: string | Uint8Array; headers?: Record<string, string> }): Promise<Answer>;
  close(): Promise<void>;
}

/** Builds the app with logging off and a pinned clock, listening on a free loopback port. */
export async function startApi(store: TaskStore = new InMemoryTaskStore({ clock: tickingClock() })): Promise<RunningApi> {
  const app: FastifyInstance = await buildApp(loadLegacyApiConfig({}), { store, logger: false });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    store,
    async call(method, path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      let body = init.body;
      if (init.json !== undefined) {
        body = JSON.stringify(init.json);
        headers["content-type"] ??= "application/json";
      }
      const response = await fetch(`${url}${path}`, { method, headers, body, redirect: "manual" });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, body: text === "" ? undefined : tryParse(text) };
    },
    close: () => app.close(),
  };
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A raw JSON body sent with `application/json`, for bodies `JSON.stringify` cannot produce. */
export function rawJson(body: string): { body: string; headers: Record<string, string> } {
  return { body, headers: { "content-type": "application/json" } };
}
