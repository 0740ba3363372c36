/**
 * `npm run build:services [-- --root <dir>]`: the three services as plain JavaScript, for the
 * container image (Dockerfile), which has no TypeScript transpiler.
 *
 * Each entry point becomes one ES module, `<root>/dist/services/<service>.mjs`, run with plain
 * `node`. The workspace packages (`@todo-gateway/*`, TypeScript) are bundled in; every npm
 * package stays an import, resolved at run time from `<root>/node_modules` (in the image, the
 * production install), so native modules (better-sqlite3) and packages that find their own
 * files (pino's workers) load as they do under `npm start`.
 *
 * Code that finds a file relative to its own module (`new URL("../x", import.meta.url)`) finds
 * it relative to the bundle instead. Every such lookup in a bundled module must be listed in
 * {@link RELATIVE_LOOKUPS}, which says whether the file is copied to where the bundle looks for
 * it or is never read by a running service; an unlisted one fails the build, so a new lookup
 * cannot silently break the image. The build also fails if a bundle imports an npm package that
 * is not a production dependency of the service workspaces (the image would not have it).
 *
 * `<root>` defaults to the repository root. Another root gets the web client's built files
 * copied in, so `<root>` plus a `node_modules` is everything a service needs.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile, type Plugin } from "esbuild";

const REPO = fileURLToPath(new URL("../", import.meta.url));

/** The services, by the name of their bundle (`dist/services/<name>.mjs`). */
export const SERVICE_ENTRIES: Readonly<Record<string, string>> = {
  "gateway": "gateway/src/server.ts",
  "auth-service": "auth-service/src/server.ts",
  "legacy-api": "legacy-api-stub/src/server.ts",
};

/**
 * The workspaces whose production dependencies the bundles may import: exactly those the
 * Dockerfile installs (`npm ci --omit=dev -w …`; the compose test checks the two agree).
 */
export const SERVICE_WORKSPACES = ["config", "gateway", "auth-service", "legacy-api-stub"] as const;

/** Where the bundles go, relative to the root: lookups resolve from here. */
export const BUNDLE_DIR = "dist/services";

interface RelativeLookup {
  /** The module, relative to the repository root. */
  readonly module: string;
  /** The first argument of its `new URL(…, import.meta.url)`. */
  readonly target: string;
  /** `copy`: placed where the bundle looks for it (it must exist); `unused`: why no service reads it. */
  readonly use: "copy" | { readonly unused: string };
}

export const RELATIVE_LOOKUPS: readonly RelativeLookup[] = [
  // The default route table: <root>/dist/default-routes.yaml.
  { module: "config/src/route-table.ts", target: "../default-routes.yaml", use: "copy" },
  // The built web client the gateway serves under /app/: <root>/web-client/dist.
  { module: "config/src/gateway.ts", target: "../../web-client/dist", use: "copy" },
  {
    module: "config/src/processes.ts", target: "../../",
    use: { unused: "REPO_ROOT: where npm start and the bench run services with tsx; no service starts children" },
  },
];

const LOOKUP = /new URL\(\s*(["'])([^"'`]*)\1\s*,\s*import\.meta\.url\s*\)/g;

/** npm package name of a bare import (`better-auth/plugins/jwt` → `better-auth`). */
function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || builtinModules.includes(specifier.split("/")[0]!);
}

/** Bare imports stay imports, except the workspace packages, which are bundled. */
const npmPackagesExternal: Plugin = {
  name: "npm-packages-external",
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("@todo-gateway/")) return undefined;
      return { path: args.path, external: true };
    });
  },
};

function productionDependencies(): Set<string> {
  const allowed = new Set<string>();
  for (const workspace of SERVICE_WORKSPACES) {
    const manifest = JSON.parse(readFileSync(join(REPO, workspace, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    for (const name of Object.keys(manifest.dependencies ?? {})) if (!name.startsWith("@todo-gateway/")) allowed.add(name);
  }
  return allowed;
}

export interface BuildResult {
  readonly root: string;
  /** Service name → absolute path of its bundle. */
  readonly bundles: Readonly<Record<string, string>>;
  /** Service name → the npm packages its bundle imports. */
  readonly externals: Readonly<Record<string, readonly string[]>>;
  /** Files and folders copied next to the bundles, relative to the root. */
  readonly copied: readonly string[];
}

/** Builds the bundles under `root`; throws an Error with one line per problem. */
export async function buildServices(root: string = REPO): Promise<BuildResult> {
  const outdir = join(root, BUNDLE_DIR);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });

  const result = await build({
    absWorkingDir: REPO,
    entryPoints: Object.entries(SERVICE_ENTRIES).map(([out, entry]) => ({ in: entry, out })),
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // Bundling renames clashing top-level names; keep function and class names as written.
    keepNames: true,
    logLevel: "warning",
    metafile: true,
    plugins: [npmPackagesExternal],
  });

  const problems: string[] = [];
  const bundles: Record<string, string> = {};
  const externals: Record<string, string[]> = {};
  const allowed = productionDependencies();
  for (const [output, meta] of Object.entries(result.metafile.outputs)) {
    if (!meta.entryPoint) continue;
    const name = Object.entries(SERVICE_ENTRIES).find(([, entry]) => entry === meta.entryPoint)?.[0];
    if (name === undefined) continue;
    bundles[name] = resolve(REPO, output);
    const packages = new Set<string>();
    for (const imported of meta.imports) {
      if (!imported.external || isBuiltin(imported.path)) continue;
      const pkg = packageName(imported.path);
      packages.add(pkg);
      if (!allowed.has(pkg)) {
        problems.push(`${name}: imports ${JSON.stringify(imported.path)}, which is not a production dependency of ${SERVICE_WORKSPACES.join(", ")} (the image would not have it)`);
      }
    }
    externals[name] = [...packages].sort();
  }
  const copied = placeRelativeFiles(result.metafile, root, problems);
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return { root, bundles, externals, copied };
}

/** Copies what {@link RELATIVE_LOOKUPS} says to copy; a lookup it does not list is a problem. */
function placeRelativeFiles(metafile: Metafile, root: string, problems: string[]): string[] {
  const copied: string[] = [];
  for (const input of Object.keys(metafile.inputs)) {
    if (input.includes("node_modules/")) continue;
    const source = readFileSync(join(REPO, input), "utf8");
    const lookups = [...source.matchAll(LOOKUP)];
    const uses = source.match(/import\.meta\b/g)?.length ?? 0;
    if (uses > lookups.length) {
      problems.push(`${input}: uses import.meta other than new URL("<relative path>", import.meta.url); decide how the bundle finds what it points at (scripts/build-services.ts)`);
    }
    for (const [, , target] of lookups) {
      const listed = RELATIVE_LOOKUPS.find((lookup) => lookup.module === input && lookup.target === target);
      if (listed === undefined) {
        problems.push(`${input}: new URL(${JSON.stringify(target)}, import.meta.url) is not in RELATIVE_LOOKUPS (scripts/build-services.ts): copy it next to the bundle or say why no service reads it`);
        continue;
      }
      if (listed.use !== "copy") continue;
      const from = resolve(REPO, dirname(input), target!);
      const to = resolve(root, BUNDLE_DIR, target!);
      if (!existsSync(from)) {
        problems.push(`${relative(REPO, from)} does not exist (needed by ${input}); ${from.includes("web-client") ? "build it first: npm run build -w web-client" : "restore it"}`);
        continue;
      }
      if (from !== to) {
        rmSync(to, { recursive: true, force: true });
        cpSync(from, to, { recursive: true });
      }
      copied.push(relative(root, to));
    }
  }
  return copied;
}

function parseRoot(args: readonly string[]): string {
  if (args.length === 0) return REPO;
  if (args.length === 2 && args[0] === "--root" && args[1]) return resolve(args[1]);
  throw new Error(`usage: npm run build:services [-- --root <dir>] (got: ${args.join(" ")})`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { root, bundles, externals, copied } = await buildServices(parseRoot(process.argv.slice(2)));
    for (const [name, file] of Object.entries(bundles)) {
      console.log(`build:services: ${relative(process.cwd(), file) || file}  (imports ${externals[name]!.join(", ")})`);
    }
    for (const path of copied) console.log(`build:services: ${relative(process.cwd(), join(root, path))}`);
  } catch (error) {
    for (const line of (error instanceof Error ? error.message : String(error)).split("\n")) process.stderr.write(`build:services: ${line}\n`);
    process.exit(1);
  }
}
