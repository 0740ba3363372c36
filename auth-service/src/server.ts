/**
 * Entry point: `npx tsx auth-service/src/server.ts` (the root `npm run auth-service`).
 * Loads the configuration, builds, migrates, listens; SIGINT / SIGTERM close gracefully.
 * A start-up failure is one `auth-service: …` line on stderr and exit code 1.
 */
import { loadAuthServiceConfig, loadOrExit } from "@todo-gateway/config";
import { buildApp, type AuthServiceApp } from "./app.ts";
import { describeStartupError } from "./startup-errors.ts";

const config = loadOrExit("auth-service", () => loadAuthServiceConfig(process.env));

function fail(message: string): never {
  process.stderr.write(`auth-service: ${message}\n`);
  process.exit(1);
}

let app: AuthServiceApp;
try {
  app = buildApp(config);
} catch (error) {
  fail(describeStartupError(error, config));
}

if (app.secret.source === "development-file-created") {
  process.stderr.write(`auth-service: warning: BETTER_AUTH_SECRET is unset; generated a development secret in ${app.secret.file} (kept across restarts; set BETTER_AUTH_SECRET outside development)\n`);
} else if (app.secret.source === "development-file") {
  process.stderr.write(`auth-service: warning: BETTER_AUTH_SECRET is unset; using the development secret in ${app.secret.file}\n`);
}

let address: { url: string; port: number };
try {
  address = await app.listen();
} catch (error) {
  await app.close().catch(() => undefined);
  fail(describeStartupError(error, config));
}

// Handlers first: a supervisor may signal as soon as it reads the listening line.
let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  app.log.info("shutting down", { signal });
  const force = setTimeout(() => {
    process.stderr.write("auth-service: in-flight requests did not finish within 10 s; exiting\n");
    process.exit(1);
  }, 10_000);
  force.unref();
  app.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`auth-service: error while closing: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));

process.stdout.write(`auth-service listening on ${address.url}\n`);
process.stdout.write(`auth-service tokens: iss=${config.jwt.issuer} aud=${config.jwt.audience} alg=${config.jwt.algorithm} lifetime=${config.jwt.lifetimeS}s jwks=${config.baseUrl}/api/auth/jwks\n`);
process.stdout.write(`auth-service database: ${app.database.description}\n`);

