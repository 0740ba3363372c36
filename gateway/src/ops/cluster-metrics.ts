import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry } from "prom-client";
import type { Metrics } from "./metrics.ts";

/**
 * `/metrics` with workers: whichever worker takes the scrape asks the primary, which collects
 * every worker's registry over the cluster's IPC channel (prom-client's AggregatorRegistry)
 * and answers with the totals. A worker that cannot get them in time answers with its own
 * figures and says so in a comment line, rather than not at all.
 */
const REQUEST = "gateway:metrics-request";
const REPLY = "gateway:metrics-reply";
const TIMEOUT_MS = 3_000;

type MetricsMessage = { type: typeof REQUEST; id: number } | { type: typeof REPLY; id: number; text?: string; error?: string };

/** In a worker: makes `metrics` part of the cluster's totals, and returns how to render them. */
export function clusterMetricsRenderer(metrics: Metrics): () => Promise<string> {
  if (!cluster.isWorker) return () => metrics.render();
  AggregatorRegistry.setRegistries([metrics.registry]);
  // prom-client starts answering the primary's requests for this worker's figures only when an
  // AggregatorRegistry is constructed in the worker (its listeners are added by the constructor,
  // not by setRegistries): without one the primary waits in vain and every scrape timed out.
  new AggregatorRegistry();
  let nextId = 0;
  const pending = new Map<number, (text: string | undefined) => void>();
  process.on("message", (message: MetricsMessage) => {
    if (message?.type !== REPLY) return;
    pending.get(message.id)?.(message.text);
    pending.delete(message.id);
  });
  return async () => {
    const id = (nextId += 1);
    const text = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(undefined);
      }, TIMEOUT_MS);
      pending.set(id, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
      process.send?.({ type: REQUEST, id } satisfies MetricsMessage);
    });
    if (text !== undefined) return text;
    return `# the primary did not answer within ${TIMEOUT_MS} ms: these are worker ${process.pid}'s figures only\n${await metrics.render()}`;
  };
}

/** In the primary: answers the workers' requests for the totals. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker: Worker, message: MetricsMessage) => {
    if (message?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: REPLY, id: message.id, text } satisfies MetricsMessage),
      (error: Error) => worker.send({ type: REPLY, id: message.id, error: error.message } satisfies MetricsMessage),
    );
  });
}
