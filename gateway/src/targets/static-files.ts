import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { RouteNotFoundError } from "../errors.ts";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** Fingerprinted build outputs (`app-3f9a1c2b.js`) never change, so browsers may keep them. */
const FINGERPRINTED = /[.-][A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

export interface StaticFile {
  readonly body: Buffer;
  /** The answer's headers, prepared at boot (Content-Length included). */
  readonly headers: Readonly<Record<string, string>>;
  /** The same without Content-Length, for a 304. */
  readonly notModifiedHeaders: Readonly<Record<string, string>>;
  readonly etag: string;
}

/**
 * The web client's built files, read once at boot into memory (a small single-page app), so
 * serving one is a map lookup and no request can reach the file system. Only names under the
 * folder exist; anything else is 404.
 */
export class StaticFiles {
  private readonly files = new Map<string, StaticFile>();

  constructor(readonly root: string) {
    if (!existsSync(root)) return;
    for (const path of walk(root)) {
      const name = relative(root, path).split(sep).join("/");
      const body = readFileSync(path);
      const type = CONTENT_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
      const headers: Record<string, string> = {
        "content-type": type,
        etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
        "cache-control": FINGERPRINTED.test(name) ? "public, max-age=31536000, immutable" : "no-cache",
        "x-content-type-options": "nosniff",
      };
      if (type.startsWith("text/html")) {
        headers["content-security-policy"] =
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
        headers["referrer-policy"] = "no-referrer";
        headers["x-frame-options"] = "DENY";
      }
      this.files.set(name, { body, headers: { ...headers, "content-length": String(body.length) }, notModifiedHeaders: headers, etag: headers.etag! });
    }
  }

  get built(): boolean {
    return this.files.has("index.html");
  }

  /** The file for a path under `/app/` (`""` is the index); throws 404. */
  get(name: string): StaticFile {
    const file = this.files.get(name === "" ? "index.html" : name);
    if (file) return file;
    throw new RouteNotFoundError(this.built ? "no such file in the web client" : "the web client is not built (npm run build -w web-client)");
  }
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}
