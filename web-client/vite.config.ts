import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The web client is served by the gateway under `/app/`. The gateway's CSP allows only
 * same-origin files (no inline script or style), so everything is emitted as files, and
 * fingerprinted names (`index-<hash>.js`) let the gateway mark them immutable.
 */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/app/",
  logLevel: "warn",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // Keep the built HTML free of an inline module-preload polyfill script.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
