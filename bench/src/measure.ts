import { readFileSync, writeFileSync } from "node:fs";
import autocannon from "autocannon";
import type { PlannedRequest, RequestSource } from "./scenarios.ts";
import { Samples, summarizeLatencies, type LatencySummary } from "./stats.ts";

/** How a run loads its target: a fixed number of busy connections, or a fixed request rate. */
export type LoadMode =
  | { readonly kind: "concurrency"; readonly connections: number }
  | { readonly kind: "rate"; readonly rate: number; readonly connections: number };

export function modeLabel(mode: LoadMode): string {
  return mode.kind === "concurrency" ? `${mode.connections} conns` : `${mode.rate} req/s`;
}

export interface LoadSpec {
  readonly url: string;
  readonly mode: LoadMode;
  readonly durationS: number;
  readonly source: RequestSource;
}

/**
 * What one autocannon run measured. Latencies are in ms, to the answer's last byte: at fixed
 * concurrency from writing the request; at a fixed rate from when the schedule said to send it
 * (see {@link runLoad}).
 */
export interface LoadResult {
  readonly responses: number;
  readonly elapsedS: number;
  readonly requestsPerSecond: number;
  /** The latency a request paid: at a fixed rate, counted from its scheduled send (corrected for coordinated omission). */
  readonly latency: LatencySummary;
  /**
   * From writing the request to its answer, whatever the schedule said: the service time.
   * At a fixed rate it leaves out the wait of a request sent late behind a slow answer, which
   * is why the budget is never judged on it; it is kept to show what the correction adds.
   */
  readonly serviceTime: LatencySummary;
  /** Every status seen, with its count. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Responses whose status is not the one the request expects, keyed `"<kind> <status>"`. */
  readonly unexpected: Readonly<Record<string, number>>;
  readonly unexpectedCount: number;
  readonly non2xx: number;
  /** Connection errors and timeouts (autocannon's `errors`, which include `timeouts`). */
  readonly errors: number;
  readonly timeouts: number;
  /** Fixed-rate mode: sends more than 1 ms behind their schedule (the previous answer was late); their wait is in `latency`. */
  readonly lateSends: number;
  /** Fixed-rate mode: achieved rate over the target rate. */
  readonly rateAchieved: number | null;
}

/** What this file swaps in autocannon 9.0.0's per-connection request iterator (not in its published types). */
interface IteratorInternals {
  currentRequest: unknown;
  nextRequest(): unknown;
  recordBody(request: unknown, status: number, body: string, headers: unknown): void;
}

/** The pieces of autocannon 9.0.0's client this file touches (not in its published types). */
interface ClientInternals {
  _doRequest(): void;
  destroyed: boolean;
  requestIterator: IteratorInternals;
  on(event: "done", listener: () => void): unknown;
}

/** The request object autocannon keeps in flight: the bytes it writes, and what we planned. */
interface InFlight {
  readonly requestBuffer: Buffer;
  readonly planned: PlannedRequest;
}

/**
 * One planned request as HTTP/1.1 bytes, the way autocannon writes them (Host, keep-alive, then
 * the request's headers, then Content-Length when there is a body). A request object reused
 * by a scenario is encoded once.
 */
export function encodeRequest(planned: PlannedRequest, host: string, cache?: WeakMap<PlannedRequest, Buffer>): Buffer {
  const cached = cache?.get(planned);
  if (cached) return cached;
  let head = `${planned.method} ${planned.path} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n`;
  for (const name in planned.headers) head += `${name}: ${planned.headers[name]}\r\n`;
  const body = planned.body;
  const bytes = body === undefined
    ? Buffer.from(`${head}\r\n`, "latin1")
    : Buffer.from(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, "utf8");
  cache?.set(planned, bytes);
  return bytes;
}

/**
 * Runs autocannon in this process against `url` for `durationS`, taking every request from
 * `source`, checking each status against what that request expects, and recording every
 * latency exactly (autocannon's own histogram rounds to whole milliseconds).
 *
 * At a fixed rate each latency is counted from the request's scheduled send, not from when it
 * could be written: a request held back behind a slow answer on its connection has already
 * waited, and leaving that wait out (coordinated omission) would let a stall of the server
 * vanish from the percentiles. This is wrk2's correction, and what autocannon's own
 * `recordValueWithExpectedInterval` approximates.
 *
 * Each connection's request iterator is replaced (autocannon is pinned to 9.0.0 for this):
 * autocannon's `setupRequest` / `onResponse` hooks rebuild every request through a generic
 * builder and turn every answer's headers into an object, which cost the load generator about
 * 25 µs per request here, CPU the servers it measures share.
 */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const { mode, source } = spec;
  const host = new URL(spec.url).host;
  const encoded = new WeakMap<PlannedRequest, Buffer>();
  const expectedResponses = mode.kind === "rate" ? mode.rate * spec.durationS : 20_000 * spec.durationS;
  const capacity = Math.min(Math.ceil(expectedResponses * 1.2), 4_000_000);
  const samples = new Samples(capacity);
  const serviceSamples = new Samples(capacity);
  const statuses = new Map<number, number>();
  const unexpected = new Map<string, number>();
  let unexpectedCount = 0;
  const pacing = { late: 0 };
  // Per connection (one request in flight each: pipelining 1), how far behind its schedule the
  // request now in flight was written, in ms.
  const sentLateBy = new WeakMap<object, number>();

  const issue = (): InFlight => {
    const planned = source.next();
    return { requestBuffer: encodeRequest(planned, host, encoded), planned };
  };
  const record = (inFlight: unknown, status: number, body: string) => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const planned = (inFlight as Partial<InFlight> | undefined)?.planned;
    if (planned === undefined) return;
    if (status !== planned.expect) {
      unexpectedCount += 1;
      const key = `${planned.kind} ${status}`;
      unexpected.set(key, (unexpected.get(key) ?? 0) + 1);
    }
    planned.onDone?.(status, body);
  };

  const connections = mode.kind === "rate" ? Math.min(mode.connections, mode.rate) : mode.connections;
  return new Promise<LoadResult>((resolve, reject) => {
    const startedAt = performance.now();
    let clientIndex = 0;
    const instance = autocannon(
      {
        url: spec.url,
        connections,
        duration: spec.durationS,
        // Stop within 50 ms of the duration (autocannon only checks at each sample tick).
        sampleInt: 50,
        pipelining: 1,
        timeout: 10,
        setupClient: (client) => {
          const internals = client as unknown as ClientInternals;
          const iterator = internals.requestIterator;
          // Called before the connection opens: the first request is ours too.
          iterator.currentRequest = issue();
          iterator.nextRequest = () => (iterator.currentRequest = issue());
          iterator.recordBody = record;
          if (mode.kind === "rate") pace(internals, clientIndex++, connections, mode.rate, startedAt, pacing, sentLateBy);
        },
      },
      (error, result) => {
        if (error) return reject(error);
        const elapsedS = (performance.now() - startedAt) / 1000;
        const responses = serviceSamples.count;
        const requestsPerSecond = responses / elapsedS;
        resolve({
          responses,
          elapsedS,
          requestsPerSecond,
          latency: summarizeLatencies(mode.kind === "rate" ? samples.sorted() : serviceSamples.sorted()),
          serviceTime: summarizeLatencies(serviceSamples.sorted()),
          statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
          unexpected: Object.fromEntries(unexpected),
          unexpectedCount,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          lateSends: pacing.late,
          rateAchieved: mode.kind === "rate" ? requestsPerSecond / mode.rate : null,
        });
      },
    );
    instance.on("response", (client, _status, _bytes, responseTimeMs) => {
      serviceSamples.push(responseTimeMs);
      if (mode.kind === "rate") samples.push(responseTimeMs + (sentLateBy.get(client) ?? 0));
    });
  });
}

/**
 * Replaces autocannon's own rate limiting, which lets each connection fire its whole quota at
 * the start of every second (a burst at saturation, then silence), with an even schedule:
 * connection `i` sends every `connections / rate` seconds, offset by `i / connections` of that
 * interval. A send that cannot happen on time (its previous answer is still out) happens as
 * soon as it can and is counted as late; the schedule is kept, never reset, so after a stall
 * the connection catches up and every request's wait since its due time is recorded in
 * `sentLateBy` (wrk2 does the same).
 */
function pace(
  client: ClientInternals, index: number, connections: number, rate: number, startedAt: number,
  pacing: { late: number }, sentLateBy: WeakMap<object, number>,
): void {
  const send = Object.getPrototypeOf(client)._doRequest as () => void;
  const intervalMs = (connections / rate) * 1000;
  let due = startedAt + (index * intervalMs) / connections;
  let timer: NodeJS.Timeout | undefined;
  const sendAt = (scheduled: number) => {
    timer = undefined;
    if (client.destroyed) return;
    // Written now; whatever came between the schedule and now (an answer that was late, or
    // this process's own timer slop) is part of what the request waited.
    sentLateBy.set(client, Math.max(0, performance.now() - scheduled));
    send.call(client);
  };
  client._doRequest = () => {
    if (client.destroyed) return;
    const scheduled = due;
    due += intervalMs;
    const wait = scheduled - performance.now();
    if (wait > 0) {
      timer = setTimeout(sendAt, wait, scheduled);
    } else {
      if (wait < -1) pacing.late += 1;
      sendAt(scheduled);
    }
  };
  client.on("done", () => clearTimeout(timer));
}

/** CPU time and memory of one process, read from /proc (Linux); `null` elsewhere. */
export interface ProcSample {
  /** user + system CPU time, in ms. */
  readonly cpuMs: number;
  readonly rssBytes: number;
  /** Peak resident set since start or the last {@link resetPeakRss}. */
  readonly peakRssBytes: number;
}

/** USER_HZ: the unit of utime / stime in /proc/<pid>/stat; 100 on every Linux we run on. */
const CLOCK_TICKS_PER_S = 100;

export function readProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return {
      cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_S,
      rssBytes: kibField(status, "VmRSS") * 1024,
      peakRssBytes: kibField(status, "VmHWM") * 1024,
    };
  } catch {
    return null;
  }
}

function kibField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
  return match ? Number(match[1]) : Number.NaN;
}

/**
 * CPU time the whole machine spent busy (user, nice, system, irq, softirq, steal; all cores),
 * in ms, from /proc/stat; `null` elsewhere. Compared with the measured processes' own time,
 * it shows when something else on the machine was competing during a run.
 */
export function readMachineBusyMs(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/** Resets the peak RSS of a process to its current RSS (Linux ≥ 4.0); false if not allowed. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** What a process spent during one run. */
export interface ProcessCost {
  readonly cpuMs: number;
  readonly cpuUsPerRequest: number;
  readonly peakRssBytes: number;
  /** False when the peak could not be reset before the run: it is then the peak since start. */
  readonly peakIsPerRun: boolean;
}

/**
 * Measures processes around a piece of work: the CPU time each used and the peak RSS each
 * reached, per response of the work. A missing pid or an unreadable /proc gives `null`.
 */
export async function measureProcesses<K extends string, T extends { responses: number }>(
  pids: Readonly<Record<K, number | undefined>>,
  work: () => Promise<T>,
): Promise<{ result: T; costs: Record<K, ProcessCost | null> }> {
  const names = Object.keys(pids) as K[];
  const resets = new Map<K, boolean>();
  const before = new Map<K, ProcSample | null>();
  for (const name of names) {
    const pid = pids[name];
    resets.set(name, pid !== undefined && resetPeakRss(pid));
    before.set(name, pid === undefined ? null : readProc(pid));
  }
  const result = await work();
  const costs = {} as Record<K, ProcessCost | null>;
  for (const name of names) {
    const pid = pids[name];
    const start = before.get(name);
    const end = pid === undefined ? null : readProc(pid);
    if (!start || !end) {
      costs[name] = null;
      continue;
    }
    const cpuMs = end.cpuMs - start.cpuMs;
    costs[name] = {
      cpuMs,
      cpuUsPerRequest: result.responses > 0 ? (cpuMs * 1000) / result.responses : Number.NaN,
      peakRssBytes: end.peakRssBytes,
      peakIsPerRun: resets.get(name) === true,
    };
  }
  return { result, costs };
}
