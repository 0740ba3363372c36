/**
 * Bad scale settings stop the real process before anything listens (issue 13, "Bad input"):
 * one line on stderr naming the setting, exit 1, nothing on stdout. The port the gateway is
 * given is held by the test: a process that tried to listen would report the port in use
 * instead, so the line proves the setting was refused first. Every wording is in
 * config/test/scale-settings.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatewayProcess } from "../helpers/process.ts";

const dir = mkdtempSync(join(tmpdir(), "gateway-bad-settings-"));
const badRouteFile = join(dir, "routes.yaml");
writeFileSync(badRouteFile, [
  "upstreams:", '  up: { url: "http://127.0.0.1:9" }', "routes:",
  "  - { name: n, methods: [GET], path: /n, upstream: up, rateLimit: { perUser: 0 } }",
].join("\n"));

let holder: Server;
let port: number;
beforeAll(async () => {
  holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  port = (holder.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => holder.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe("the gateway process with a bad scale setting", { timeout: 30_000 }, () => {
  it.each([
    [{ TRUSTED_PROXIES: "10.0.0.0/33" }, 'gateway: configuration error: TRUSTED_PROXIES: "10.0.0.0/33" is not an address or CIDR such as 10.0.0.5 or 10.0.0.0/8'],
    [{ RATE_LIMIT_PER_USER: "0" }, "gateway: configuration error: RATE_LIMIT_PER_USER: a rate limit of zero would refuse everything (leave it unset for no limit)"],
    [{ RATE_LIMIT_PER_ADDRESS: "0" }, "gateway: configuration error: RATE_LIMIT_PER_ADDRESS: a rate limit of zero would refuse everything (leave it unset for no limit)"],
    [{ RATE_LIMIT_WINDOW_S: "-5" }, 'gateway: configuration error: RATE_LIMIT_WINDOW_S: "-5" is not a whole number'],
    [{ GATEWAY_WORKERS: "0" }, "gateway: configuration error: GATEWAY_WORKERS: 0 is out of range (1-1024)"],
    [{ GATEWAY_CONFIG: badRouteFile }, `gateway: configuration error: ${badRouteFile}: routes[0].rateLimit.perUser: must be a whole number of requests (1-1000000000)`],
    // With workers the primary checks the settings itself, before it starts any.
    [{ GATEWAY_WORKERS: "2", RATE_LIMIT_WINDOW_S: "0" }, "gateway: configuration error: RATE_LIMIT_WINDOW_S: 0 is out of range (1-86400)"],
  ])("%j: one line naming it, exit 1, nothing listens", async (settings, line) => {
    const gateway = startGatewayProcess({ GATEWAY_PORT: String(port), ...settings });
    expect(await gateway.exited).toBe(1);
    expect(gateway.output().stderr).toBe(`${line}\n`);
    expect(gateway.output().stdout).toBe("");
  });
});
