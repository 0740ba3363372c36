import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One nginx `server`: a loopback port balancing round-robin over `upstreams` (`host:port`). */
export interface NginxSite {
  readonly upstreams: readonly string[];
}

export interface RunningNginx {
  /** `http://127.0.0.1:port` per site, in order. */
  readonly urls: readonly string[];
  errorLog(): string;
  stop(): Promise<void>;
}

/** Debian's nginx is in /usr/sbin, which a non-root PATH often lacks. */
const NGINX = existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";

/**
 * A real nginx for tests where a load balancer is the subject: its own prefix, config, pid,
 * error log and temp paths in a temp dir, listening on free loopback ports, one process
 * (`master_process off`) running as the current user. Each site sets X-Forwarded-For the usual
 * way (`$proxy_add_x_forwarded_for`: what the client sent, then the client's address) and
 * X-Forwarded-Proto, and never retries a request on another upstream (counts stay exact).
 */
export async function startNginx(sites: readonly NginxSite[]): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), "nginx-"));
  const ports: number[] = [];
  for (let i = 0; i < sites.length; i++) ports.push(await freePort());
  const errorLog = join(dir, "error.log");
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, [
    `pid ${join(dir, "nginx.pid")};`,
    `error_log ${errorLog} warn;`,
    "events { worker_connections 256; }",
    "http {",
    "  access_log off;",
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`),
    ...sites.flatMap((site, i) => [
      `  upstream site${i} { ${site.upstreams.map((upstream) => `server ${upstream};`).join(" ")} }`,
      "  server {",
      `    listen 127.0.0.1:${ports[i]};`,
      "    location / {",
      `      proxy_pass http://site${i};`,
      "      proxy_http_version 1.1;",
      '      proxy_set_header Connection "";',
      "      proxy_set_header Host $host;",
      "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
      "      proxy_set_header X-Forwarded-Proto $scheme;",
      "      proxy_next_upstream off;",
      "      proxy_connect_timeout 5s;",
      "      proxy_read_timeout 10s;",
      "    }",
      "  }",
    ]),
    "}",
  ].join("\n"));
  const child: ChildProcess = spawn(NGINX, ["-p", dir, "-c", conf, "-e", errorLog, "-g", "daemon off; master_process off;"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const log = () => (existsSync(errorLog) ? readFileSync(errorLog, "utf8") : "") + stderr;
  const deadline = Date.now() + 10_000;
  for (const port of ports) {
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`nginx did not start: ${log()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    urls: ports.map((port) => `http://127.0.0.1:${port}`),
    errorLog: log,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.setTimeout(1_000, () => socket.destroy());
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("close", () => resolve(false));
  });
}
