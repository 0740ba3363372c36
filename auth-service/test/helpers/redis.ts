import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";

/**
 * A PRIVATE redis-server for tests that stop, flush or freeze it: its own port, no persistence
 * (`--save '' --appendonly no`), never the shared instance on 6379.
 */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** A client of its own (for XRANGE, FLUSHALL); closed by `stop()`. */
  readonly client: Redis;
  /** Kills the server (SIGKILL: it loses everything, as a crash would). */
  kill(): Promise<void>;
  /** Starts a fresh, empty server on the same port. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the socket stays open but nothing answers. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

/** Whether redis-server is installed; with `REQUIRE_SERVICES=1` its absence is a failure, not a skip. */
export function redisServerAvailable(): boolean {
  const probe = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
  if (probe.status === 0) return true;
  if (process.env.REQUIRE_SERVICES === "1") throw new Error("redis-server is not installed (REQUIRE_SERVICES=1, so the Redis tests must run)");
  console.warn("SKIPPING Redis relay tests: redis-server is not installed (set REQUIRE_SERVICES=1 to make this a failure)");
  return false;
}

/** A port nothing listens on (taken from the OS, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function launch(port: number, args: readonly string[]): ChildProcess {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr?.resume();
  return child;
}

async function untilAnswers(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    probe.on("error", () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === "PONG") return;
    } catch {
      // not up yet
    } finally {
      probe.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `args`: extra redis-server options, kept across `restart()`. */
export async function startPrivateRedis(args: readonly string[] = []): Promise<PrivateRedis> {
  const port = await freePort();
  let child = launch(port, args);
  await untilAnswers(port, child);
  const client = new Redis({ port, host: "127.0.0.1", connectTimeout: 2_000, commandTimeout: 5_000, maxRetriesPerRequest: 1 });
  client.on("error", () => undefined);
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGCONT");
    child.kill("SIGKILL");
    await exited;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    client,
    kill,
    restart: async () => {
      await kill();
      child = launch(port, args);
      await untilAnswers(port, child);
    },
    freeze: () => child.kill("SIGSTOP"),
    thaw: () => child.kill("SIGCONT"),
    stop: async () => {
      client.disconnect();
      await kill();
    },
  };
}

/** The `token` field of every entry of a stream, oldest first. */
export async function streamTokens(client: Redis, key: string): Promise<string[]> {
  const entries = await client.xrange(key, "-", "+");
  return entries.map(([, fields]) => {
    const at = fields.indexOf("token");
    return at >= 0 ? fields[at + 1]! : "";
  });
}
