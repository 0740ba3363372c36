/**
 * LEGACY_API_DATABASE as the process sees it: tasks kept in a SQLite file outlive a restart and
 * a crash in the middle of writes, and a file that cannot be used stops the stub with one line
 * instead of a start with no tasks, which would look exactly like tasks lost.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteTaskStore } from "../src/tasks/sqlite-store.ts";
import { lines, listeningPort, runServer, type Run } from "./helpers/process.ts";

const dir = mkdtempSync(join(tmpdir(), "legacy-api-durable-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (name = "tasks.db") => join(dir, `${++files}`, name);

async function started(path: string): Promise<{ run: Run; url: string }> {
  const run = runServer({ LEGACY_API_PORT: "0", LEGACY_API_DATABASE: path, LOG_LEVEL: "silent" });
  return { run, url: `http://127.0.0.1:${await listeningPort(run)}` };
}

async function stop(run: Run): Promise<void> {
  run.child.kill("SIGTERM");
  expect(await run.exited).toEqual({ code: 0, signal: null });
}

const post = (url: string, user: string, json: unknown) =>
  fetch(`${url}/api/${user}/tasks`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(json) });
const list = async (url: string, user: string) => (await (await fetch(`${url}/api/${user}/tasks`)).json()) as { id: number; title: string }[];

describe("a SQLite task database (LEGACY_API_DATABASE=<file>)", () => {
  it("keeps tasks, their ids and timestamps across a restart, creating the file and its folder", async () => {
    const path = freshPath();
    const first = await started(path);
    await post(first.url, "alice", { title: "Buy milk", description: "2 litres" });
    await post(first.url, "alice", { title: "Call the plumber" });
    await fetch(`${first.url}/api/alice/tasks/1/complete`, { method: "PATCH" });
    await fetch(`${first.url}/api/alice/tasks/2`, { method: "PUT", headers: { "content-type": "application/json" }, body: '{"description":"after 5"}' });
    const before = await list(first.url, "alice");
    await stop(first.run);

    const second = await started(path);
    expect(await list(second.url, "alice")).toEqual(before);
    expect(before.map((task) => task.title)).toEqual(["Call the plumber", "Buy milk"]);
    expect(await (await post(second.url, "alice", { title: "third" })).json()).toMatchObject({ id: 3 });
    await stop(second.run);
  });

  it("loses no answered write when the process is killed in the middle of writing, and opens again", async () => {
    const path = freshPath();
    const { run, url } = await started(path);
    const answered = new Set<number>();
    // Keep 8 writes in flight on their own sockets, then SIGKILL the stub mid-stream.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    let killed = false;
    const writer = async () => {
      while (!killed) {
        try {
          const task = await new Promise<{ id: number }>((resolve, reject) => {
            const request = http.request(`${url}/api/crash/tasks`, { agent, method: "POST", headers: { "content-type": "application/json" } }, (response) => {
              let body = "";
              response.on("data", (chunk: Buffer) => (body += chunk.toString()));
              response.on("end", () => (response.statusCode === 201 ? resolve(JSON.parse(body) as { id: number }) : reject(new Error(body))));
              response.on("error", reject);
            });
            request.on("error", reject);
            request.end(JSON.stringify({ title: `write ${answered.size}`, description: "x".repeat(500) }));
          });
          answered.add(task.id);
          if (answered.size === 150) {
            killed = true;
            run.child.kill("SIGKILL");
          }
        } catch {
          return; // the stub is gone
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    expect((await run.exited).signal).toBe("SIGKILL");
    agent.destroy();
    expect(answered.size).toBeGreaterThanOrEqual(150);

    const again = await started(path);
    const ids = new Set((await list(again.url, "crash")).map((task) => task.id));
    for (const id of answered) expect(ids.has(id)).toBe(true);
    await stop(again.run);
    const db = new Database(path, { readonly: true });
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    db.close();
  });

  it("is in memory when LEGACY_API_DATABASE is memory: nothing survives a restart", async () => {
    const first = runServer({ LEGACY_API_PORT: "0", LEGACY_API_DATABASE: "memory", LOG_LEVEL: "silent" });
    const url = `http://127.0.0.1:${await listeningPort(first)}`;
    expect((await post(url, "alice", { title: "t" })).status).toBe(201);
    await stop(first);
    const second = runServer({ LEGACY_API_PORT: "0", LOG_LEVEL: "silent" });
    expect(await list(`http://127.0.0.1:${await listeningPort(second)}`, "alice")).toEqual([]);
    await stop(second);
  });
});

describe("a task database that cannot be used stops the stub with one line naming LEGACY_API_DATABASE", () => {
  async function refused(path: string): Promise<string> {
    const run = runServer({ LEGACY_API_PORT: "0", LEGACY_API_DATABASE: path });
    expect((await run.exited).code).toBe(1);
    expect(run.stdout()).toBe("");
    const stderr = lines(run.stderr());
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(new RegExp(`^legacy-api: cannot use the task database LEGACY_API_DATABASE=${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `));
    return stderr[0]!;
  }

  it("refuses a file that is not a SQLite database, and leaves it as it was", async () => {
    const path = freshPath("notes.txt");
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, "these are my notes, not a database\n".repeat(200));
    expect(await refused(path)).toContain("not a SQLite database");
    expect(await import("node:fs").then((fs) => fs.readFileSync(path, "utf8"))).toBe("these are my notes, not a database\n".repeat(200));
  });

  it("refuses a task database whose pages are damaged", async () => {
    const path = freshPath();
    const store = SqliteTaskStore.open(path);
    for (let i = 0; i < 400; i++) await store.create(`user-${i % 7}`, { title: `task ${i}`, description: "d".repeat(300) });
    await store.close();
    const fd = openSync(path, "r+");
    for (const page of [3, 20]) writeSync(fd, Buffer.alloc(2000, 0x5a), 0, 2000, page * 4096 + 10);
    closeSync(fd);
    expect(await refused(path)).toContain("damaged");
  });

  it("refuses a SQLite database that belongs to something else", async () => {
    const path = freshPath("auth.db");
    mkdirSync(join(path, ".."), { recursive: true });
    const db = new Database(path);
    db.exec("CREATE TABLE user (id TEXT PRIMARY KEY, email TEXT)");
    db.close();
    expect(await refused(path)).toContain("something else");
  });

  it("refuses a path that is a directory", async () => {
    const path = freshPath("a-directory");
    mkdirSync(path, { recursive: true });
    expect(await refused(path)).toContain("cannot be opened");
  });

  it("refuses a path below a file", async () => {
    const file = freshPath("plain-file");
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, "");
    expect(await refused(join(file, "tasks.db"))).toContain("its folder cannot be created");
  });

  it("reports an empty setting as a configuration error", async () => {
    const run = runServer({ LEGACY_API_PORT: "0", LEGACY_API_DATABASE: "" });
    expect((await run.exited).code).toBe(1);
    expect(lines(run.stderr())).toEqual([expect.stringMatching(/^legacy-api: configuration error: LEGACY_API_DATABASE: is empty/)]);
  });
});
