import { ConfigError } from "./errors.ts";
import type { Env } from "./env.ts";

/**
 * What every service's `buildApp(config, deps?)` resolves to: built, never listening yet.
 * A Fastify instance is one; so is the auth-service's app.
 */
export interface Service {
  /** Binds and serves; resolves to the URL it listens on (`http://host:port`). */
  listen(options: { host: string; port: number }): Promise<string>;
  /** Stops accepting, lets requests in flight finish, releases what it holds. Idempotent. */
  close(): Promise<void>;
}

export interface ServiceDefinition<C, S extends Service> {
  /** The name every line of the process starts with (`gateway`, `auth-service`, `legacy-api`). */
  readonly name: string;
  /** Reads and validates the configuration; throws ConfigError. */
  readonly load: (env: Env) => C;
  readonly build: (config: C) => Promise<S>;
  readonly address: (config: C) => { readonly host: string; readonly port: number };
  /** Seconds requests in flight get on SIGTERM before their connections are closed. */
  readonly shutdownTimeoutS: (config: C) => number;
  /** Closes every connection still open (once the deadline has passed). */
  readonly closeAllConnections: (service: S) => void;
  /** The environment variables naming the listen address, for the one-line listen errors. */
  readonly portVariable: string;
  readonly hostVariable: string;
  /** Turns a build or listen failure into one line for an operator; by default its message. */
  readonly describeStartupError?: (error: unknown, config: C) => string;
  /** Lines printed after the listening line (what the service serves, with what). */
  readonly announce?: (service: S, config: C, url: string) => readonly string[];
  /** SIGHUP, if the service does something with it (the gateway re-reads its route file). */
  readonly onReload?: (service: S, config: C) => void;
  /**
   * When a supervisor runs this process (a gateway worker): start-up failures go to it instead
   * of stderr (it reports one line for all of its workers), and the listening line is its to
   * print.
   */
  readonly supervised?: { readonly reportFailure: (line: string, sent: () => void) => void; readonly listening: (url: string) => void };
}

/**
 * Runs a service as a process, the same way for all three: one line per configuration problem
 * and exit 1 before anything listens; one line for a start-up failure (a port in use, a
 * database away) and exit 1; signal handlers installed before the listening line is printed
 * (a supervisor may signal as soon as it reads it); SIGTERM / SIGINT drain within the
 * shutdown deadline, then close what is left and exit 0; a second signal exits at once.
 */
export async function runService<C, S extends Service>(definition: ServiceDefinition<C, S>, env: Env = process.env): Promise<S> {
  const { name } = definition;
  // Exits 1 with one line; a supervised process hands the line to its supervisor first.
  const fail = (line: string): Promise<never> => {
    if (definition.supervised === undefined) {
      process.stderr.write(`${name}: ${line}\n`);
      process.exit(1);
    }
    definition.supervised.reportFailure(`${name}: ${line}`, () => process.exit(1));
    return new Promise<never>(() => undefined);
  };
  let config: C;
  try {
    config = definition.load(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return fail(error.problems.map((line, i) => (i === 0 ? `configuration error: ${line}` : `${name}: configuration error: ${line}`)).join("\n"));
  }
  const describe = (error: unknown) => definition.describeStartupError?.(error, config) ?? `start-up failed: ${firstLine(error)}`;


  let service: S;
  try {
    service = await definition.build(config);
  } catch (error) {
    return fail(describe(error));
  }

  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1); // a second signal: stop waiting
    stopping = true;
    const deadlineS = definition.shutdownTimeoutS(config);
    const deadline = setTimeout(() => {
      process.stderr.write(`${name}: requests still in flight after SHUTDOWN_TIMEOUT_S=${deadlineS}; closing their connections\n`);
      definition.closeAllConnections(service);
      // close() resolves once the connections are gone; if a close hook hangs, stop anyway.
      setTimeout(() => process.exit(0), 1_000).unref();
    }, deadlineS * 1000);
    deadline.unref();
    service.close().then(
      () => process.exit(0),
      (error: unknown) => fail(`shutdown failed: ${firstLine(error)}`),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  if (definition.onReload !== undefined) process.on("SIGHUP", () => definition.onReload!(service, config));

  const { host, port } = definition.address(config);
  let url: string;
  try {
    url = await service.listen({ host, port });
  } catch (error) {
    await service.close().catch(() => undefined);
    return fail(listenFailure(error, host, port, definition) ?? describe(error));
  }
  if (definition.supervised) {
    definition.supervised.listening(url);
    return service;
  }
  process.stdout.write(`${name} listening on ${url}\n`);
  for (const line of definition.announce?.(service, config, url) ?? []) process.stdout.write(`${name} ${line}\n`);
  return service;
}

function listenFailure(error: unknown, host: string, port: number, names: { portVariable: string; hostVariable: string }): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const where = `cannot listen on ${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (code === "EADDRINUSE") return `${where}: the port is in use (${names.portVariable})`;
  if (code === "EADDRNOTAVAIL") return `${where}: no such local address (${names.hostVariable})`;
  if (code === "EACCES") return `${where}: permission denied (${names.portVariable})`;
  return undefined;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!.trim();
}
