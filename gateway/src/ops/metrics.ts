/**
 * The gateway's counters, decided here once (Envoy's jwt_authn `stats.h` habit): plain fields
 * and small maps bumped on the hot path by the recorder alone (ops/recorder.ts), rendered to
 * Prometheus text only when scraped.
 */
const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  readonly counts: number[];
  sum: number;
  count: number;
}

import type { RevocationStatus } from "../revocation/index.ts";

/** Figures read at scrape time from the parts that own them. */
export interface Gauges {
  readonly jwksKeys: number;
  readonly tokenCacheEntries: number;
  readonly ready: boolean;
  readonly bodyBytesHeld: number;
  readonly eventLoopLagMs: number;
  readonly upstreams: readonly { readonly name: string; readonly pending: number; readonly up: boolean | undefined }[];
  readonly revocations: RevocationStatus;
}

export class Metrics {
  private readonly requests = new Map<string, Map<number, number>>();
  private readonly refusals = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly jwksFetches = { success: 0, failure: 0 };
  private tokenCacheHits = 0;
  private tokenCacheMisses = 0;
  private tokensAccepted = 0;
  /** Connections closed on accept because MAX_CONNECTIONS were open. */
  private connectionsDropped = 0;

  /** One finished request: counted by route and status, timed by route. */
  request(route: string, status: number, seconds: number): void {
    let byStatus = this.requests.get(route);
    if (!byStatus) this.requests.set(route, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);

    let histogram = this.latency.get(route);
    if (!histogram) this.latency.set(route, (histogram = { counts: LATENCY_BUCKETS_S.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < LATENCY_BUCKETS_S.length; i++) {
      if (seconds <= LATENCY_BUCKETS_S[i]!) {
        histogram.counts[i]! += 1;
        break;
      }
    }
    histogram.sum += seconds;
    histogram.count += 1;
  }

  /** A refused request, by its stable reason (the error code). */
  refusal(reason: string): void {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
  }

  /** A bearer token checked from the verified-token cache, or by a signature check. */
  tokenCheck(how: "cache" | "signature"): void {
    if (how === "cache") this.tokenCacheHits += 1;
    else this.tokenCacheMisses += 1;
  }

  tokenAccepted(): void {
    this.tokensAccepted += 1;
  }

  connectionDropped(): void {
    this.connectionsDropped += 1;
  }

  jwksFetch(result: "success" | "failure"): void {
    this.jwksFetches[result] += 1;
  }

  render(gauges: Gauges): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    family("gateway_requests_total", "counter", "Requests answered, by route and status.");
    for (const [route, byStatus] of this.requests) {
      for (const [status, count] of byStatus) lines.push(`gateway_requests_total{route="${route}",status="${status}"} ${count}`);
    }
    family("gateway_refusals_total", "counter", "Requests refused by the gateway, by reason.");
    for (const [reason, count] of this.refusals) lines.push(`gateway_refusals_total{reason="${reason}"} ${count}`);
    family("gateway_tokens_accepted_total", "counter", "Requests whose bearer token was accepted.");
    lines.push(`gateway_tokens_accepted_total ${this.tokensAccepted}`);
    family("gateway_jwks_fetches_total", "counter", "JWKS fetches, by result.");
    lines.push(`gateway_jwks_fetches_total{result="success"} ${this.jwksFetches.success}`);
    lines.push(`gateway_jwks_fetches_total{result="failure"} ${this.jwksFetches.failure}`);
    family("gateway_token_cache_hits_total", "counter", "Tokens found in the verified-token cache.");
    lines.push(`gateway_token_cache_hits_total ${this.tokenCacheHits}`);
    family("gateway_token_cache_misses_total", "counter", "Tokens that needed a signature check.");
    lines.push(`gateway_token_cache_misses_total ${this.tokenCacheMisses}`);
    family("gateway_token_cache_entries", "gauge", "Verified tokens currently cached.");
    lines.push(`gateway_token_cache_entries ${gauges.tokenCacheEntries}`);
    family("gateway_jwks_keys", "gauge", "Signing keys currently known.");
    lines.push(`gateway_jwks_keys ${gauges.jwksKeys}`);
    family("gateway_ready", "gauge", "1 when signing keys are loaded.");
    lines.push(`gateway_ready ${gauges.ready ? 1 : 0}`);
    family("gateway_connections_dropped_total", "counter", "Client connections closed on accept because MAX_CONNECTIONS were open.");
    lines.push(`gateway_connections_dropped_total ${this.connectionsDropped}`);
    family("gateway_body_bytes_held", "gauge", "Request body bytes held in memory now (bounded by BODY_MEMORY_LIMIT_MB).");
    lines.push(`gateway_body_bytes_held ${gauges.bodyBytesHeld}`);
    family("gateway_event_loop_lag_seconds", "gauge", "How late the last event-loop sample fired (load is shed past MAX_EVENT_LOOP_DELAY_MS).");
    lines.push(`gateway_event_loop_lag_seconds ${gauges.eventLoopLagMs / 1000}`);
    family("gateway_upstream_pending", "gauge", "Requests sent to an upstream and not yet answered in full (in use plus queued).");
    for (const upstream of gauges.upstreams) lines.push(`gateway_upstream_pending{upstream="${upstream.name}"} ${upstream.pending}`);
    family("gateway_upstream_up", "gauge", "1 when the upstream answered the last readiness probe, 0 when not (absent before the first probe).");
    for (const upstream of gauges.upstreams) if (upstream.up !== undefined) lines.push(`gateway_upstream_up{upstream="${upstream.name}"} ${upstream.up ? 1 : 0}`);

    if (gauges.revocations.enabled) {
      family("gateway_revocation_connected", "gauge", "1 while the revocation source (Redis or the feed) is connected and current.");
      lines.push(`gateway_revocation_connected ${gauges.revocations.loaded && gauges.revocations.connected ? 1 : 0}`);
      family("gateway_revocation_lag_seconds", "gauge", "Age of the newest revocation event when it was applied.");
      if (!Number.isNaN(gauges.revocations.lagSeconds)) lines.push(`gateway_revocation_lag_seconds ${gauges.revocations.lagSeconds}`);
      family("gateway_revocations_held", "gauge", "Revoked sessions and users held (each until no token it covers can be valid).");
      lines.push(`gateway_revocations_held ${gauges.revocations.held}`);
    }

    family("gateway_request_duration_seconds", "histogram", "Time from request to response, by route.");
    for (const [route, histogram] of this.latency) {
      let cumulative = 0;
      LATENCY_BUCKETS_S.forEach((le, i) => {
        cumulative += histogram.counts[i]!;
        lines.push(`gateway_request_duration_seconds_bucket{route="${route}",le="${le}"} ${cumulative}`);
      });
      lines.push(`gateway_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${histogram.count}`);
      lines.push(`gateway_request_duration_seconds_sum{route="${route}"} ${histogram.sum}`);
      lines.push(`gateway_request_duration_seconds_count{route="${route}"} ${histogram.count}`);
    }
    return lines.join("\n") + "\n";
  }
}
