import cluster, { type Worker } from "node:cluster";
import { ConfigError, gatewayRouteTableContext, loadRouteTable, type GatewayConfig } from "@todo-gateway/config";
import { serveClusterMetrics } from "./ops/cluster-metrics.ts";

/**
 * `GATEWAY_WORKERS` > 1: this process is the primary and only supervises (Envoy's
 * `--concurrency`, HAProxy's `nbthread`). Workers share the one port (node:cluster) and each has
 * its own key resolver, token cache and revocation view. The primary:
 *
 * - prints the listening line once every worker listens; a worker that cannot start (a port
 *   taken) stops the whole gateway with that worker's one line, exit 1, not a crash loop, and
 *   so does one that dies before it listens (a line naming the cause);
 * - restarts a worker that dies later, after a backoff (1 s doubling to 30 s, reset once a
 *   worker has lived a minute), with one line naming the cause;
 * - on SIGHUP checks the route file itself: a bad file is reported once and the workers keep
 *   their table; a good one is sent to every worker (SIGHUP), to one still starting once it
 *   listens;
 * - on SIGTERM / SIGINT drains every worker within SHUTDOWN_TIMEOUT_S (they close their own
 *   connections at the deadline), kills what is left a little later, and exits 0;
 * - answers `/metrics` requests with every worker's totals.
 */
export const WORKER_MESSAGE = { listening: "gateway:worker-listening", failed: "gateway:worker-failed" } as const;

type WorkerMessage = { type: typeof WORKER_MESSAGE.listening; url: string } | { type: typeof WORKER_MESSAGE.failed; line: string };

const RESTART_BACKOFF_MAX_MS = 30_000;
const STABLE_AFTER_MS = 60_000;

export function runPrimary(config: GatewayConfig, env: NodeJS.ProcessEnv = process.env): void {
  serveClusterMetrics();
  let stopping = false;
  let started = false;
  let announced = false;
  let restartDelayMs = 1_000;
  // The status the primary exits with once every worker is gone (1 when start-up failed).
  let exitCode = 0;
  const listening = new Set<Worker>();
  const bornAt = new Map<Worker, number>();

  // A SIGHUP that arrives while a worker starts (before it has a handler for it, when the
  // signal's default action would end it) is handed to that worker once it listens.
  let reloadRequestedAt = -1;

  const fork = () => {
    const worker = cluster.fork(env);
    bornAt.set(worker, Date.now());
    worker.on("message", (message: WorkerMessage) => {
      if (message?.type === WORKER_MESSAGE.failed && !started && !stopping) {
        // The worker's own one line; the gateway cannot serve with a worker that cannot start.
        process.stderr.write(`${message.line}\n`);
        stopAll(1);
      } else if (message?.type === WORKER_MESSAGE.listening) {
        listening.add(worker);
        if (reloadRequestedAt >= (bornAt.get(worker) ?? Infinity)) worker.process.kill("SIGHUP");
        if (!announced && listening.size === config.workers) {
          announced = true;
          started = true;
          process.stdout.write(`gateway listening on ${message.url} (${config.workers} workers)\n`);
        }
      }
    });
  };

  cluster.on("exit", (worker, code, signal) => {
    listening.delete(worker);
    const lived = Date.now() - (bornAt.get(worker) ?? Date.now());
    // bornAt holds the workers not yet exited (cluster.workers keeps one until its channel closes too).
    bornAt.delete(worker);
    if (stopping) {
      if (bornAt.size === 0) process.exit(exitCode);
      return;
    }
    const cause = signal ? `signal ${signal}` : `exit code ${code}`;
    if (!started) {
      // Died before it listened. If it said why (a port taken), that line may still be in its
      // channel: decide once the channel is closed. If it did not (killed, out of memory), say
      // so and stop: without this the primary waited forever for the listening line.
      const report = () => {
        if (stopping) return;
        process.stderr.write(`gateway: worker ${worker.process.pid} stopped before it listened (${cause})\n`);
        stopAll(1);
      };
      if (worker.isConnected()) worker.once("disconnect", report);
      else report();
      return;
    }
    if (lived >= STABLE_AFTER_MS) restartDelayMs = 1_000;
    process.stderr.write(`gateway: worker ${worker.process.pid} died (${cause}); starting another in ${restartDelayMs / 1000} s\n`);
    setTimeout(() => !stopping && fork(), restartDelayMs);
    restartDelayMs = Math.min(restartDelayMs * 2, RESTART_BACKOFF_MAX_MS);
  });

  function stopAll(status: number): void {
    if (stopping) return;
    stopping = true;
    exitCode = status;
    const workers = [...bornAt.keys()];
    if (workers.length === 0) process.exit(exitCode);
    for (const worker of workers) worker.process.kill("SIGTERM");
    // Each worker closes what is left at its own deadline; past that and a margin, kill it.
    setTimeout(() => {
      for (const worker of workers) if (!worker.isDead()) worker.process.kill("SIGKILL");
    }, (config.shutdownTimeoutS + 5) * 1000).unref();
  }

  process.on("SIGTERM", () => stopAll(0));
  process.on("SIGINT", () => stopAll(0));
  process.on("SIGHUP", () => {
    try {
      loadRouteTable(config.routeTableFile, gatewayRouteTableContext(env));
    } catch (error) {
      const problems = error instanceof ConfigError ? error.problems : [(error as Error).message];
      for (const line of problems) process.stderr.write(`gateway: route table reload refused: ${line}\n`);
      return;
    }
    reloadRequestedAt = Date.now();
    // Workers still starting get theirs when they listen (above): SIGHUP would end them now.
    for (const worker of listening) worker.process.kill("SIGHUP");
  });

  for (let i = 0; i < config.workers; i++) fork();
}

/** In a worker: how it reports to the primary instead of printing (config's runService `supervised`). */
export function workerReports() {
  return {
    reportFailure: (line: string, sent: () => void) => void process.send?.({ type: WORKER_MESSAGE.failed, line } satisfies WorkerMessage, undefined, {}, sent),
    listening: (url: string) => process.send?.({ type: WORKER_MESSAGE.listening, url } satisfies WorkerMessage),
  };
}
