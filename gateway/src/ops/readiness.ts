import type { KeyResolver } from "../auth/keys.ts";
import type { RevocationStatus } from "../revocation/index.ts";
import type { UpstreamPool } from "../targets/upstream-pool.ts";

export type CheckResult = "ok" | "missing";

export interface Readiness {
  readonly ready: boolean;
  /** What is missing among the checks readiness depends on, one phrase each; empty when ready. */
  readonly missing: readonly string[];
  /** Every check, those that fail readiness and those only reported. */
  readonly checks: Readonly<Record<string, CheckResult>>;
}

/** What one `/readyz` needs to know about the table in force. */
export interface ReadinessInputs {
  readonly keys: KeyResolver;
  readonly upstreams: readonly UpstreamPool[];
  /** Upstreams that serve protected routes: readiness depends on these; the rest are reported only. */
  readonly required: ReadonlySet<string>;
  /** True while the gateway sheds load (event-loop lag). */
  readonly overloaded: boolean;
  readonly revocations: RevocationStatus;
  /** With REDIS_URL: whether rate limits are shared now; reported, never failing readiness. */
  readonly rateLimitsShared: boolean | undefined;
}

const PROBE_TIMEOUT_MS = 1_000;
/** A probe result is reused this long: a load balancer polling every instance costs no upstream traffic per poll. */
const PROBE_CACHE_MS = 1_000;

/**
 * Readiness means "can serve protected traffic": signing keys loaded and every upstream behind
 * a protected route answering. An upstream that serves only public routes (the auth-service)
 * is probed and reported in `checks` but does not fail readiness: tasks keep working while it
 * is down, and a load balancer must not turn its outage into a total one.
 */
export class ReadinessProbe {
  private readonly results = new WeakMap<UpstreamPool, { at: number; ok: boolean }>();
  private inflight: Promise<void> | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  async check(inputs: ReadinessInputs): Promise<Readiness> {
    await this.probe(inputs.upstreams);
    const checks: Record<string, CheckResult> = { keys: inputs.keys.ready ? "ok" : "missing" };
    const missing: string[] = inputs.keys.ready ? [] : ["signing keys not loaded"];
    for (const upstream of inputs.upstreams) {
      const ok = this.results.get(upstream)?.ok === true;
      checks[`upstream:${upstream.name}`] = ok ? "ok" : "missing";
      if (!ok && inputs.required.has(upstream.name)) missing.push(`upstream ${upstream.name} not answering`);
    }
    const revocations = inputs.revocations;
    if (revocations.enabled) {
      // Ready only once the current record was read; after that, a lost source fails readiness
      // in closed mode only (open mode serves with the last view and says so here).
      const fresh = revocations.loaded && revocations.connected;
      checks.revocations = fresh ? "ok" : "missing";
      if (!revocations.loaded) missing.push("revocations not loaded yet");
      else if (!fresh && revocations.failMode === "closed") missing.push("revocation source unreachable (REVOCATION_FAIL_MODE=closed)");
    }
    if (inputs.rateLimitsShared !== undefined) checks["rate-limits"] = inputs.rateLimitsShared ? "ok" : "missing";
    checks.load = inputs.overloaded ? "missing" : "ok";
    if (inputs.overloaded) missing.push("shedding load (event loop lagging)");
    return { ready: missing.length === 0, missing, checks };
  }

  /** Whether an upstream answered the last probe (for the metric); `undefined` before any probe. */
  lastResult(upstream: UpstreamPool): boolean | undefined {
    return this.results.get(upstream)?.ok;
  }

  private probe(upstreams: readonly UpstreamPool[]): Promise<void> {
    const now = this.now();
    const stale = upstreams.filter((upstream) => {
      const last = this.results.get(upstream);
      return last === undefined || now - last.at >= PROBE_CACHE_MS;
    });
    if (stale.length === 0) return Promise.resolve();
    this.inflight ??= Promise.all(stale.map(async (upstream) => {
      const ok = await upstream.answers(PROBE_TIMEOUT_MS);
      this.results.set(upstream, { at: this.now(), ok });
    })).then(() => undefined).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }
}
