import type { KeyResolver } from "../auth/keys.ts";
import type { Upstream } from "../pipeline/forward.ts";

export interface Readiness {
  readonly ready: boolean;
  /** What is missing, one phrase each; empty when ready. */
  readonly missing: readonly string[];
  readonly checks: Readonly<Record<string, "ok" | "missing">>;
}

const PROBE_TIMEOUT_MS = 1_000;

/** Ready when the signing keys are loaded and every upstream answers (CONTRACT §3). */
export async function checkReadiness(keys: KeyResolver, upstreams: readonly Upstream[]): Promise<Readiness> {
  const checks: Record<string, "ok" | "missing"> = { keys: keys.ready ? "ok" : "missing" };
  const missing: string[] = keys.ready ? [] : ["signing keys not loaded"];
  const answers = await Promise.all(upstreams.map((upstream) => upstream.answers(PROBE_TIMEOUT_MS)));
  upstreams.forEach((upstream, i) => {
    checks[`upstream:${upstream.name}`] = answers[i] ? "ok" : "missing";
    if (!answers[i]) missing.push(`upstream ${upstream.name} not answering`);
  });
  return { ready: missing.length === 0, missing, checks };
}
