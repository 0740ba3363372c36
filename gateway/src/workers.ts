import cluster, { type Worker } from "node:cluster";
import { ConfigError, gatewayRouteTableContext, loadRouteTable, type GatewayConfig } from "@todo-gateway/config";
import { serveClusterMetrics } from "./ops/cluster-metrics.ts";

/**
 * `GATEWAY_WORKERS` > 1: this process is the primary and only supervises (Envoy's
 * `--concurrency`, HAProxy's `nbthread`). Workers share the one port (node:cluster) and each has
 * its own key resolver, token cache and revocation view. The primary:
 *
 * - prints the listening line once every worker listens; a worker that cannot start (a port
 *   taken) stops the whole gateway with that worker's one line, exit 1, not a crash loop;
 * - restarts a worker that dies later, after a backoff (1 s doubling to 30 s, reset once a
 *   worker has lived a minute), with one line naming the cause;
 * - on SIGHUP checks the route file itself: a bad file is reported once and the workers keep
 *   their table; a good one is sent to every worker (SIGHUP);
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
  const listening = new Set<Worker>();
  const bornAt = new Map<Worker, number>();

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
    bornAt.delete(worker);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    if (!started) return; // a start-up failure: already reported and stopping
    if (lived >= STABLE_AFTER_MS) restartDelayMs = 1_000;
    const cause = signal ? `signal ${signal}` : `exit code ${code}`;
    process.stderr.write(`gateway: worker ${worker.process.pid} died (${cause}); starting another in ${restartDelayMs / 1000} s\n`);
    setTimeout(() => !stopping && fork(), restartDelayMs);
    restartDelayMs = Math.min(restartDelayMs * 2, RESTART_BACKOFF_MAX_MS);
  });

  function stopAll(exitCode: number): void {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (workers.length === 0) process.exit(exitCode);
    for (const worker of workers) worker.process.kill("SIGTERM");
    // Each worker closes what is left at its own deadline; past that and a margin, kill it.
    setTimeout(() => {
      for (const worker of workers) if (!worker.isDead()) worker.process.kill("SIGKILL");
    }, (config.shutdownTimeoutS + 5) * 1000).unref();
    if (exitCode !== 0) cluster.on("exit", () => Object.keys(cluster.workers ?? {}).length === 0 && process.exit(exitCode));
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
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGHUP");
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
