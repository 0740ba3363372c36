import type { ScenarioName } from "./options.ts";
import { pickWeighted, seededRandom, zipfCumulative } from "./stats.ts";
import { FORGERIES_PER_TOKEN, forgeToken, userId, type TokenIssuer } from "./tokens.ts";

/** Where a run sends its requests: the legacy API itself, or the gateway in front of it. */
export type Target = "direct" | "gateway";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** One request as the load generator will send it, with the one status it must get back. */
export interface PlannedRequest {
  /** A short name for the request's kind (`list`, `create`, `forged-signature`, ...). */
  readonly kind: string;
  readonly method: Method;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The status this request must be answered with; any other is an unexpected status. */
  readonly expect: number;
  /** Called with the answer (crud-mix learns created ids and returns leased ones here). */
  readonly onDone?: (status: number, body: string) => void;
}

/** Hands out requests one at a time, as fast as the load generator asks for them. */
export interface RequestSource {
  next(): PlannedRequest;
}

/** What the orchestrator tells a scenario about the run it is opening. */
export interface RunInfo {
  readonly target: Target;
  readonly durationS: number;
  /** Same seed for the direct and the gateway run of a round: same sequence of requests. */
  readonly seed: number;
  /** An upper estimate of the requests per second this run will reach (for sizing token pools). */
  readonly expectedRps: number;
}

/** Anything a run noticed that makes its figures untrustworthy (reported, and fails the bench). */
export interface RunNotes {
  /** Tokens sent to the gateway a second time in a scenario promising fresh ones. */
  readonly reusedTokens?: number;
  /** Requests that wanted one of the user's tasks but found none free, and created one instead. */
  readonly fallbacks?: number;
}

export interface OpenedRun {
  readonly source: RequestSource;
  /** Ends the run: undoes its writes, reports what it noticed. */
  close(): Promise<RunNotes>;
}

/** A workload: the same requests for the direct API and for the gateway, with explicit expected statuses. */
export interface Scenario {
  readonly name: ScenarioName;
  readonly summary: string;
  /** The statuses each target must answer, in words, for the report. */
  readonly expects: Readonly<Record<Target, string>>;
  open(run: RunInfo): Promise<OpenedRun>;
}

/** What the scenarios share: the legacy API (for seeding), the issuer and the standing token set. */
export interface BenchContext {
  readonly legacyApiUrl: string;
  readonly issuer: TokenIssuer;
  readonly users: readonly string[];
  /** The long-lived tokens: user `i` holds `1 + i % 3` of them (sessions on several devices). */
  readonly tokensByUser: readonly (readonly string[])[];
  /** The same tokens, flat, with the index of their user. */
  readonly tokens: readonly { readonly user: number; readonly token: string }[];
}

export const TASKS_PER_USER = 5;

/**
 * Creates the users' token set and seeds each user with a few tasks (directly on the legacy
 * API), so every list answer carries a realistic body.
 */
export async function prepareContext(legacyApiUrl: string, issuer: TokenIssuer, userCount: number): Promise<BenchContext> {
  const users = Array.from({ length: userCount }, (_, i) => userId("u", i));
  const owners = users.flatMap((_, i) => Array.from({ length: 1 + (i % 3) }, () => i));
  const minted = await issuer.mintMany(owners.map((i) => users[i]!));
  const tokens = owners.map((user, i) => ({ user, token: minted[i]! }));
  const tokensByUser = users.map((_, i) => tokens.filter((t) => t.user === i).map((t) => t.token));
  await seedTasks(legacyApiUrl, users, TASKS_PER_USER);
  return { legacyApiUrl, issuer, users, tokensByUser, tokens };
}

function headersFor(token: string, withBody = false): Record<string, string> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json" };
  if (withBody) headers["content-type"] = "application/json";
  return headers;
}

/** `read-hot`: lists with the standing tokens; a few users are much busier than the rest. */
export function readHot(ctx: BenchContext): Scenario {
  const weights = zipfCumulative(ctx.users.length);
  // One request object per token, reused: the load generator encodes each once.
  const plans: readonly (readonly PlannedRequest[])[] = ctx.users.map((user, i) =>
    ctx.tokensByUser[i]!.map((token) => Object.freeze({ kind: "list", method: "GET", path: `/api/${user}/tasks`, headers: headersFor(token), expect: 200 })));
  return {
    name: "read-hot",
    summary: `GET /api/{user}/tasks with ${ctx.tokens.length} valid tokens of ${ctx.users.length} users (1-3 each), users Zipf-distributed`,
    expects: { direct: "200", gateway: "200" },
    async open(run) {
      const random = seededRandom(run.seed);
      return {
        source: {
          next() {
            const own = plans[pickWeighted(weights, random())]!;
            return own[Math.floor(random() * own.length)]!;
          },
        },
        close: async () => ({}),
      };
    },
  };
}

/**
 * Fresh tokens for `read-cold`, minted ahead of the runs: the gateway must never see one twice
 * (that would be a cache hit), so its cursor only moves forward and the pool is topped up
 * before each gateway run to cover it. The direct API ignores tokens: its runs cycle over the pool.
 */
export class FreshTokenPool {
  private readonly tokens: string[] = [];
  private readonly owners: number[] = [];
  private gatewayCursor = 0;
  private directCursor = 0;
  private minted = 0;

  constructor(private readonly ctx: BenchContext) {}

  get size(): number {
    return this.tokens.length;
  }

  /** Mints until at least `count` tokens remain that the gateway has never been sent. */
  async ensureUnused(count: number): Promise<void> {
    const missing = count - (this.tokens.length - this.gatewayCursor);
    if (missing <= 0) return;
    const owners = Array.from({ length: missing }, () => this.minted++ % this.ctx.users.length);
    const tokens = await this.ctx.issuer.mintMany(owners.map((i) => this.ctx.users[i]!));
    this.tokens.push(...tokens);
    this.owners.push(...owners);
  }

  /** The next token for `target`; counts a reuse when the gateway's share runs out. */
  take(target: Target, onReuse: () => void): { user: number; token: string } {
    let index: number;
    if (target === "gateway") {
      if (this.gatewayCursor >= this.tokens.length) {
        onReuse();
        index = this.gatewayCursor++ % this.tokens.length;
      } else {
        index = this.gatewayCursor++;
      }
    } else {
      index = this.directCursor++ % this.tokens.length;
    }
    return { user: this.owners[index]!, token: this.tokens[index]! };
  }
}

/** `read-cold`: the same lists, but every request carries a token the gateway has never seen. */
export function readCold(ctx: BenchContext, pool = new FreshTokenPool(ctx)): Scenario {
  const paths = ctx.users.map((user) => `/api/${user}/tasks`);
  return {
    name: "read-cold",
    summary: "GET /api/{user}/tasks, each request with a token never sent before (every request pays a signature check)",
    expects: { direct: "200", gateway: "200" },
    async open(run) {
      const wanted = Math.ceil(run.expectedRps * run.durationS * 1.3) + 256;
      if (run.target === "gateway") await pool.ensureUnused(wanted);
      else if (pool.size === 0) await pool.ensureUnused(Math.min(wanted, 5000));
      let reused = 0;
      const onReuse = () => {
        reused += 1;
      };
      return {
        source: {
          next() {
            const { user, token } = pool.take(run.target, onReuse);
            return { kind: "list", method: "GET", path: paths[user]!, headers: headersFor(token), expect: 200 };
          },
        },
        close: async () => (reused > 0 ? { reusedTokens: reused } : {}),
      };
    },
  };
}

/** The crud-mix proportions (docs/behaviour.md §7 operations on the user's own tasks). */
export const CRUD_MIX = Object.freeze({ list: 0.7, create: 0.1, toggle: 0.1, update: 0.05, delete: 0.05 });

/**
 * `crud-mix`: 70% list, 10% create, 10% toggle, 5% update, 5% delete. Each run gets its own
 * users, seeded alike, so the direct and gateway runs start from the same state; a task is
 * leased by one request at a time (never toggled while being deleted), and the run's tasks are
 * deleted afterwards.
 */
export function crudMix(ctx: BenchContext): Scenario {
  let runNumber = 0;
  const createBody = JSON.stringify({ title: "Write the quarterly report", description: "Figures from the bench, with the machine they came from." });
  const updateBody = JSON.stringify({ title: "Write the quarterly report (v2)", description: "Figures from the bench, checked against an independent tool." });
  return {
    name: "crud-mix",
    summary: "70% list, 10% create, 10% toggle, 5% update, 5% delete on the user's own tasks (fresh seeded users per run)",
    expects: { direct: "list 200, create 201, toggle 200, update 200, delete 204", gateway: "list 200, create 201, toggle 200, update 200, delete 204" },
    async open(run) {
      runNumber += 1;
      const users = Array.from({ length: ctx.users.length }, (_, i) => userId(`c${runNumber.toString(36)}x`, i));
      const [tokens, seeded] = await Promise.all([ctx.issuer.mintMany(users), seedTasks(ctx.legacyApiUrl, users, TASKS_PER_USER)]);
      const free = seeded.map((ids) => [...ids]);
      const headers = tokens.map((token) => headersFor(token));
      const bodyHeaders = tokens.map((token) => headersFor(token, true));
      const base = users.map((user) => `/api/${user}/tasks`);
      const random = seededRandom(run.seed);
      let fallbacks = 0;
      const { list, create, toggle, update } = CRUD_MIX;

      // Reused request objects (the load generator encodes each once); per-task ones are made per request.
      const lists = users.map((_, user): PlannedRequest => ({ kind: "list", method: "GET", path: base[user]!, headers: headers[user]!, expect: 200 }));
      const creates = users.map((_, user): PlannedRequest => ({
        kind: "create", method: "POST", path: base[user]!, headers: bodyHeaders[user]!, body: createBody, expect: 201,
        onDone: (status, body) => {
          if (status !== 201) return;
          const id = (JSON.parse(body) as { id?: unknown }).id;
          if (typeof id === "number") free[user]!.push(id);
        },
      }));
      const createFor = (user: number) => creates[user]!;
      const source: RequestSource = {
        next() {
          const user = Math.floor(random() * users.length);
          const r = random();
          if (r < list) return lists[user]!;
          if (r < list + create) return createFor(user);
          const id = free[user]!.pop();
          if (id === undefined) {
            fallbacks += 1;
            return createFor(user);
          }
          const release = () => free[user]!.push(id);
          if (r < list + create + toggle) {
            return { kind: "toggle", method: "PATCH", path: `${base[user]}/${id}/complete`, headers: headers[user]!, expect: 200, onDone: release };
          }
          if (r < list + create + toggle + update) {
            return { kind: "update", method: "PUT", path: `${base[user]}/${id}`, headers: bodyHeaders[user]!, body: updateBody, expect: 200, onDone: release };
          }
          return {
            kind: "delete", method: "DELETE", path: `${base[user]}/${id}`, headers: headers[user]!, expect: 204,
            onDone: (status) => {
              if (status !== 204) release();
            },
          };
        },
      };
      return {
        source,
        async close() {
          await deleteAllTasks(ctx.legacyApiUrl, users);
          return fallbacks > 0 ? { fallbacks } : {};
        },
      };
    },
  };
}

/**
 * `reject-flood`: what an attack costs. Half the requests carry a forged token (a valid one
 * with one signature byte flipped, never the same twice, so each costs a signature check),
 * half a valid token on another user's path. The gateway must answer 401 and 403; the direct
 * API, which trusts the path, answers 200 to the same requests.
 */
export function rejectFlood(ctx: BenchContext): Scenario {
  const paths = ctx.users.map((user) => `/api/${user}/tasks`);
  let forgeries = 0; // across all runs: a forgery is never sent twice
  const capacity = ctx.tokens.length * FORGERIES_PER_TOKEN;
  return {
    name: "reject-flood",
    summary: "50% forged signatures (each distinct), 50% valid tokens on another user's path",
    expects: { direct: "200 (the API trusts the path)", gateway: "forged 401, wrong user 403" },
    async open(run) {
      const random = seededRandom(run.seed);
      const users = ctx.users.length;
      let reused = 0;
      return {
        source: {
          next() {
            if (random() < 0.5) {
              const n = forgeries++;
              if (n >= capacity) reused += 1;
              const base = ctx.tokens[n % ctx.tokens.length]!;
              const token = forgeToken(base.token, Math.floor(n / ctx.tokens.length) % FORGERIES_PER_TOKEN);
              return { kind: "forged-signature", method: "GET", path: paths[base.user]!, headers: headersFor(token), expect: run.target === "gateway" ? 401 : 200 };
            }
            const holder = ctx.tokens[Math.floor(random() * ctx.tokens.length)]!;
            const other = (holder.user + 1 + Math.floor(random() * (users - 1))) % users;
            return { kind: "wrong-user", method: "GET", path: paths[other]!, headers: headersFor(holder.token), expect: run.target === "gateway" ? 403 : 200 };
          },
        },
        close: async () => (reused > 0 ? { reusedTokens: reused } : {}),
      };
    },
  };
}

export function createScenarios(ctx: BenchContext): Record<ScenarioName, Scenario> {
  return { "read-hot": readHot(ctx), "read-cold": readCold(ctx), "crud-mix": crudMix(ctx), "reject-flood": rejectFlood(ctx) };
}

// --- seeding and clean-up, straight on the legacy API -------------------------------------

async function inBatches<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  }));
  return results;
}

async function call(base: string, method: Method, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? { accept: "application/json" } : { accept: "application/json", "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text === "" ? undefined : (JSON.parse(text) as unknown) };
}

/** Creates `perUser` tasks for each user; returns their ids, per user. */
export async function seedTasks(base: string, users: readonly string[], perUser: number): Promise<number[][]> {
  const jobs = users.flatMap((user, u) => Array.from({ length: perUser }, (_, k) => ({ user, u, k })));
  const ids: number[][] = users.map(() => []);
  await inBatches(jobs, 16, async ({ user, u, k }) => {
    const { status, json } = await call(base, "POST", `/api/${user}/tasks`, {
      title: `Seeded task ${k + 1}`,
      description: k % 2 === 0 ? "Created by the bench before the run." : "",
    });
    const id = (json as { id?: unknown } | undefined)?.id;
    if (status !== 201 || typeof id !== "number") throw new Error(`seeding: POST /api/${user}/tasks answered ${status}, expected 201 with an integer id`);
    ids[u]!.push(id);
  });
  return ids;
}

/** Deletes every task of these users (the run's writes), so the store does not grow run after run. */
export async function deleteAllTasks(base: string, users: readonly string[]): Promise<void> {
  const lists = await inBatches(users, 16, async (user) => {
    const { status, json } = await call(base, "GET", `/api/${user}/tasks`);
    if (status !== 200 || !Array.isArray(json)) throw new Error(`clean-up: GET /api/${user}/tasks answered ${status}`);
    return (json as { id: number }[]).map((task) => ({ user, id: task.id }));
  });
  await inBatches(lists.flat(), 16, async ({ user, id }) => {
    const { status } = await call(base, "DELETE", `/api/${user}/tasks/${id}`);
    if (status !== 204) throw new Error(`clean-up: DELETE /api/${user}/tasks/${id} answered ${status}`);
  });
}
