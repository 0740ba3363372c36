import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RevocationStatus } from "../revocation/index.ts";

/**
 * The gateway's metrics, decided here once (Envoy's jwt_authn `stats.h` habit), in a
 * prom-client registry beside its default process and Node runtime metrics. Only the recorder
 * (ops/recorder.ts) writes the counters, through children cached per label set, so a request
 * costs a few additions; gauges are read from the parts that own them at scrape time. With
 * workers, the primary sums every worker's registry (ops/cluster-metrics.ts), each metric with
 * the aggregation its meaning calls for.
 */
const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Figures read at scrape time from the parts that own them. */
export interface Gauges {
  readonly jwksKeys: number;
  readonly tokenCacheEntries: number;
  readonly ready: boolean;
  readonly bodyBytesHeld: number;
  readonly eventLoopLagMs: number;
  readonly upstreams: readonly { readonly name: string; readonly pending: number; readonly up: boolean | undefined }[];
  readonly revocations: RevocationStatus;
  /** With REDIS_URL: whether rate limits are counted in Redis right now (else per process); `undefined` without it. */
  readonly rateLimitsShared: boolean | undefined;
}

type Child = { inc(value?: number): void };

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"route" | "status">;
  private readonly refusals: Counter<"reason">;
  private readonly latency: Histogram<"route">;
  private readonly jwksFetches: Counter<"result">;
  private readonly tokenCacheHits: Counter;
  private readonly tokenCacheMisses: Counter;
  private readonly tokensAccepted: Counter;
  private readonly connectionsDropped: Counter;
  private readonly requestChildren = new Map<string, Child>();
  private readonly latencyChildren = new Map<string, { observe(value: number): void }>();
  private readonly refusalChildren = new Map<string, Child>();

  /** `countsInRedis`: REDIS_URL is set, so there is a gateway_rate_limits_shared to report. */
  constructor(gauges: () => Gauges, { countsInRedis = false }: { readonly countsInRedis?: boolean } = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: "gateway_requests_total", help: "Requests answered, by route and status.", labelNames: ["route", "status"], registers });
    this.refusals = new Counter({ name: "gateway_refusals_total", help: "Requests refused by the gateway, by reason.", labelNames: ["reason"], registers });
    this.tokensAccepted = new Counter({ name: "gateway_tokens_accepted_total", help: "Requests whose bearer token was accepted.", registers });
    this.jwksFetches = new Counter({ name: "gateway_jwks_fetches_total", help: "JWKS fetches, by result.", labelNames: ["result"], registers });
    this.tokenCacheHits = new Counter({ name: "gateway_token_cache_hits_total", help: "Tokens found in the verified-token cache.", registers });
    this.tokenCacheMisses = new Counter({ name: "gateway_token_cache_misses_total", help: "Tokens that needed a signature check.", registers });
    this.connectionsDropped = new Counter({ name: "gateway_connections_dropped_total", help: "Client connections closed on accept (MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS).", registers });
    this.latency = new Histogram({ name: "gateway_request_duration_seconds", help: "Time from request to response, by route.", labelNames: ["route"], buckets: LATENCY_BUCKETS_S, registers });
    for (const result of ["success", "failure"]) this.jwksFetches.inc({ result }, 0);
    for (const counter of [this.tokenCacheHits, this.tokenCacheMisses, this.tokensAccepted, this.connectionsDropped]) counter.inc(0);

    const gauge = (name: string, help: string, aggregator: "sum" | "min" | "max", read: (g: Gauges) => number) =>
      new Gauge({ name, help, registers, aggregator, collect() {
        this.set(read(gauges()));
      } });
    gauge("gateway_token_cache_entries", "Verified tokens currently cached.", "sum", (g) => g.tokenCacheEntries);
    gauge("gateway_jwks_keys", "Signing keys currently known.", "max", (g) => g.jwksKeys);
    gauge("gateway_ready", "1 when signing keys are loaded (in every worker).", "min", (g) => (g.ready ? 1 : 0));
    gauge("gateway_body_bytes_held", "Request body bytes held in memory now (bounded by BODY_MEMORY_LIMIT_MB per worker).", "sum", (g) => g.bodyBytesHeld);
    gauge("gateway_event_loop_lag_seconds", "How late the last event-loop sample fired (load is shed past MAX_EVENT_LOOP_DELAY_MS); the worst worker.", "max", (g) => g.eventLoopLagMs / 1000);
    const perUpstream = (name: string, help: string, aggregator: "sum" | "min", read: (u: Gauges["upstreams"][number]) => number | undefined) =>
      new Gauge({ name, help, labelNames: ["upstream"], registers, aggregator, collect() {
        this.reset();
        for (const upstream of gauges().upstreams) {
          const value = read(upstream);
          if (value !== undefined) this.set({ upstream: upstream.name }, value);
        }
      } });
    perUpstream("gateway_upstream_pending", "Requests sent to an upstream and not yet answered in full (in use plus queued).", "sum", (u) => u.pending);
    perUpstream("gateway_upstream_up", "1 when the upstream answered the last readiness probe, 0 when not (absent before the first probe).", "min", (u) => (u.up === undefined ? undefined : u.up ? 1 : 0));
    const revocation = (name: string, help: string, aggregator: "sum" | "min" | "max", read: (r: RevocationStatus) => number | undefined) =>
      new Gauge({ name, help, registers, aggregator, collect() {
        this.reset();
        const status = gauges().revocations;
        const value = status.enabled ? read(status) : undefined;
        if (value !== undefined && !Number.isNaN(value)) this.set(value);
      } });
    // Only with REDIS_URL: a gauge without labels always has a value (0 after a reset), and a
    // 0 where no Redis is configured would read as "Redis lost" to an alert.
    if (countsInRedis) {
      new Gauge({ name: "gateway_rate_limits_shared", help: "With REDIS_URL: 1 while rate limits are counted in Redis, 0 while each process counts its own.", registers, aggregator: "min", collect() {
        this.set(gauges().rateLimitsShared === true ? 1 : 0);
      } });
    }
    revocation("gateway_revocation_connected", "1 while the revocation source (Redis or the feed) is connected and current (in every worker).", "min", (r) => (r.loaded && r.connected ? 1 : 0));
    revocation("gateway_revocation_lag_seconds", "Age of the newest revocation event when it was applied; the worst worker.", "max", (r) => r.lagSeconds);
    revocation("gateway_revocations_held", "Revoked sessions and users held (each until no token it covers can be valid); the most any worker holds.", "max", (r) => r.held);
  }

  /** One finished request: counted by route and status, timed by route. */
  request(route: string, status: number, seconds: number): void {
    const key = `${route} ${status}`;
    let counter = this.requestChildren.get(key);
    if (counter === undefined) this.requestChildren.set(key, (counter = this.requests.labels(route, String(status))));
    counter.inc();
    let histogram = this.latencyChildren.get(route);
    if (histogram === undefined) this.latencyChildren.set(route, (histogram = this.latency.labels(route)));
    histogram.observe(seconds);
  }

  /** A refused request, by its stable reason (the error code). */
  refusal(reason: string): void {
    let counter = this.refusalChildren.get(reason);
    if (counter === undefined) this.refusalChildren.set(reason, (counter = this.refusals.labels(reason)));
    counter.inc();
  }

  /** A bearer token checked from the verified-token cache, or by a signature check. */
  tokenCheck(how: "cache" | "signature"): void {
    (how === "cache" ? this.tokenCacheHits : this.tokenCacheMisses).inc();
  }

  tokenAccepted(): void {
    this.tokensAccepted.inc();
  }

  connectionDropped(): void {
    this.connectionsDropped.inc();
  }

  jwksFetch(result: "success" | "failure"): void {
    this.jwksFetches.inc({ result });
  }

  /** This process's metrics in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
