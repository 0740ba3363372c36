import { connect } from "node:net";

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly raw: string;
}

/**
 * Sends bytes exactly as written (for targets and header shapes `fetch` would never produce)
 * and parses the first response. Bounded: gives up after `timeoutMs`.
 */
export function sendRaw(port: number, request: string, timeoutMs = 3000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    let data = "";
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const [head = "", ...rest] = data.split("\r\n\r\n");
      const [statusLine = "", ...headerLines] = head.split("\r\n");
      const status = Number(statusLine.split(" ")[1]);
      if (!status) return reject(new Error(`no HTTP response: ${JSON.stringify(data.slice(0, 200))}`));
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status, headers, body: rest.join("\r\n\r\n"), raw: data });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
      const headEnd = data.indexOf("\r\n\r\n");
      if (headEnd === -1) return;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(data.slice(0, headEnd));
      if (length && data.length >= headEnd + 4 + Number(length[1])) finish();
    });
    socket.on("end", finish);
    socket.on("error", finish);
  });
}

/** A minimal GET request with the given target and extra header lines. */
export function rawGet(target: string, headerLines: string[] = [], method = "GET"): string {
  return [`${method} ${target} HTTP/1.1`, "Host: gateway.test", ...headerLines, "Connection: close", "", ""].join("\r\n");
}
