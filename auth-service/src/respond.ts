import type { ServerResponse } from "node:http";

/** Writes a JSON answer (the head only for HEAD); nothing when the client has already gone. */
export function sendJson(res: ServerResponse, status: number, body: unknown, options: { head?: boolean; headers?: Record<string, string> } = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...options.headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(options.head ? undefined : text);
}
