import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["*/test/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores: keep the number of forks small so timing-sensitive HTTP tests stay stable.
    maxWorkers: 2,
    // On CI a JSON report is written too, so .ci/run can print a plain closing summary line.
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: "test-results/vitest.json" },
  },
});
