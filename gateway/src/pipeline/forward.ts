import { Pool, type Dispatcher } from "undici";
import type { UpstreamConfig } from "@todo-gateway/config";
import type { GatewayError} from "../errors.ts";
import { UpstreamTimeoutError, UpstreamUnavailableError } from "../errors.ts";
import { connectionTokens } from "./mutate.ts";

/**
 * Answers up to this size (by Content-Length) are read whole and sent in one write, which
 * costs less CPU than piping a stream; larger or unsized answers stream through.
 */
const BUFFERED_ANSWER_MAX_BYTES = 64 * 1024;

/** Response headers that belong to the upstream hop only (RFC 9110 §7.6.1). */
const HOP_BY_HOP_RESPONSE = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "trailer", "te"]);

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Dispatcher.ResponseData["body"] | Buffer;
}

/** One named upstream: a keep-alive pool created at boot and closed with the app. */
export class Upstream {
  private readonly pool: Pool;
  private readonly basePath: string;

  constructor(readonly name: string, private readonly config: UpstreamConfig) {
    const url = new URL(config.url);
    this.basePath = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
    this.pool = new Pool(url.origin, {
      connections: 256,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
      connectTimeout: Math.min(config.timeoutMs, 10_000),
    });
  }

  /**
   * Sends the request target exactly as received and authorized (CONTRACT §5); answers 502 or
   * 504 problems when the upstream refuses, resets or stays silent.
   */
  async send(method: string, target: string, headers: string[], body: Buffer | undefined): Promise<UpstreamResponse> {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.pool.request({ method, path: this.basePath + target, headers, body });
    } catch (error) {
      throw this.failure(error);
    }
    if (response.statusCode < 100 || response.statusCode > 599) {
      // dump(), not destroy(): a destroyed body emits an error nobody listens to, and crashes.
      void response.body.dump().catch(() => undefined);
      throw new UpstreamUnavailableError(`the ${this.name} upstream answered with an invalid status`);
    }
    const answerHeaders = passThroughHeaders(response.headers);
    const length = Number(response.headers["content-length"]);
    if (length <= BUFFERED_ANSWER_MAX_BYTES) {
      try {
        return { status: response.statusCode, headers: answerHeaders, body: Buffer.from(await response.body.arrayBuffer()) };
      } catch (error) {
        throw this.failure(error);
      }
    }
    return { status: response.statusCode, headers: answerHeaders, body: response.body };
  }

  /** True when the upstream answers anything at all within the deadline. */
  async answers(timeoutMs: number): Promise<boolean> {
    try {
      const { body } = await this.pool.request({
        method: "GET", path: this.basePath + "/", headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await body.dump();
      return true;
    } catch {
      return false;
    }
  }

  /** True when this pool already serves exactly these settings (a reload may keep it). */
  sameAs(settings: UpstreamConfig): boolean {
    return settings.url === this.config.url && settings.timeoutMs === this.config.timeoutMs;
  }

  close(): Promise<void> {
    return this.pool.closed ? Promise.resolve() : this.pool.close();
  }

  /** One ladder from transport failures to our two upstream errors, keeping the cause. */
  private failure(error: unknown): GatewayError {
    const code = (error as { code?: string } | null)?.code;
    const cause = { cause: error };
    switch (code) {
      case "UND_ERR_HEADERS_TIMEOUT":
      case "UND_ERR_BODY_TIMEOUT":
      case "UND_ERR_CONNECT_TIMEOUT":
        return new UpstreamTimeoutError(`the ${this.name} upstream did not answer within ${this.config.timeoutMs} ms`, cause);
      default:
        return new UpstreamUnavailableError(`the ${this.name} upstream could not be reached`, cause);
    }
  }
}

function passThroughHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const listed = connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP_RESPONSE.has(name) || listed?.has(name)) continue;
    // The gateway alone answers for CORS; an upstream's own policy never reaches the browser.
    if (name.startsWith("access-control-")) continue;
    out[name] = value;
  }
  return out;
}
