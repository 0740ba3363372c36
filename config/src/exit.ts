import { ConfigError } from "./errors.ts";

/**
 * Runs a loader at start-up. On a {@link ConfigError} it prints one line per problem, prefixed
 * with the service name, and exits 1 before anything listens; other errors propagate.
 */
export function loadOrExit<T>(service: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const line of error.problems) process.stderr.write(`${service}: configuration error: ${line}\n`);
      process.exit(1);
    }
    throw error;
  }
}
