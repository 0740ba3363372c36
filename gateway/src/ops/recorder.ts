import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import { InternalError, type GatewayError } from "../errors.ts";
import type { AccessEntry } from "../log.ts";
import type { Outcome } from "../pipeline/outcome.ts";
import type { Metrics } from "./metrics.ts";

/**
 * The one writer of the gateway's counters and of its access line (Envoy's `stats.h` habit:
 * decided and bumped in one place). Requests are recorded once each, from their outcome, when
 * their response is over (sent, failed or abandoned by the client); no pipeline stage touches
 * a counter. Events from the parts that run beside requests (key fetches, the connection
 * guards) come in through the methods below.
 */
export class Recorder {
  constructor(
    private readonly metrics: Metrics,
    private readonly access: (entry: AccessEntry) => void,
    private readonly log: Logger,
  ) {}

  /** Records a request from its outcome, once its response is over (`close`). */
  finished(outcome: Outcome, res: ServerResponse): void {
    const completed = res.writableFinished;
    // Nothing (or not all) reached the client: it went away, or the answer failed midway.
    const status = completed || res.headersSent ? res.statusCode : 499;
    const reason = outcome.refusal?.code ?? (completed ? undefined : "client_aborted");
    const route = outcome.match?.route.spec.name ?? "unmatched";
    const elapsedMs = performance.now() - outcome.startedAt;
    this.metrics.request(route, status, elapsedMs / 1000);
    if (reason !== undefined) this.metrics.refusal(reason);
    if (outcome.token !== undefined) this.metrics.tokenCheck(outcome.token);
    if (outcome.identity !== undefined) this.metrics.tokenAccepted();
    if (outcome.refusal instanceof InternalError) this.log.error({ reqId: outcome.requestId, err: outcome.refusal.cause }, "unexpected failure");
    this.access({
      reqId: outcome.requestId, method: outcome.method, route, status, ms: Math.round(elapsedMs * 100) / 100,
      // Issue 13: logs name the real client (behind a trusted proxy, the one it forwarded for);
      // a request refused before that was resolved names the socket's peer.
      client: outcome.client?.address ?? res.req?.socket?.remoteAddress, sub: outcome.identity?.sub, reason,
    });
  }

  /** A request refused by a connection guard (parse error, CONNECT) before any outcome existed. */
  connectionRefusal(error: GatewayError): void {
    this.metrics.refusal(error.code);
  }

  connectionDropped(): void {
    this.metrics.connectionDropped();
  }

  jwksFetch(result: "success" | "failure"): void {
    this.metrics.jwksFetch(result);
  }
}
