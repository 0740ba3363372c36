/**
 * Replicas behind a real load balancer (issue 13, items 2 and 3): Debian's nginx balancing
 * round-robin over two gateway processes that trust it (TRUSTED_PROXIES=127.0.0.1, its
 * address) and count in one private Redis; and a third gateway, not trusting it, behind a
 * second nginx site. Clients connect to nginx from their own loopback addresses (127.0.0.N),
 * so nginx's X-Forwarded-For ($proxy_add_x_forwarded_for) names a different real client for
 * each. The attacks: a client that writes X-Forwarded-For to pass as someone else or to shake
 * off its budget, and a user who spreads requests over instances to multiply theirs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { header, httpRequest, type ClientResponse } from "../helpers/client.ts";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { JwksServer, createSigningKey, type SigningKey } from "../helpers/keys.ts";
import { startNginx, type RunningNginx } from "../helpers/nginx.ts";
import { accessLines, startGatewayProcess, waitFor, type GatewayProcess } from "../helpers/process.ts";
import { PrivateRedis } from "../helpers/redis.ts";
import { AUDIENCE, ISSUER, mintToken } from "../helpers/tokens.ts";
import { RecordingUpstream } from "../helpers/upstream.ts";
import { awaitWindowRoom } from "../helpers/windows.ts";

const PER_ADDRESS = 6;
const PER_USER = 4;
const WINDOW_S = 30;
/** A public route of the default table, proxied to the (recording) auth upstream. */
const PUBLIC = "/api/auth/ok";

const redis = new PrivateRedis();
let key: SigningKey;
let jwks: JwksServer;
let upstream: RecordingUpstream;
let instances: GatewayProcess[];
let untrusting: RunningGateway;
let nginx: RunningNginx;
/** nginx in front of the two trusting instances; and in front of the one that trusts nobody. */
let balanced: string;
let direct: string;

beforeAll(async () => {
  key = await createSigningKey();
  [jwks, upstream] = await Promise.all([new JwksServer([key]).start(), new RecordingUpstream().start(), redis.start()]) as [JwksServer, RecordingUpstream, PrivateRedis];
  const env = {
    JWKS_URL: jwks.url, LEGACY_API_URL: upstream.url, AUTH_SERVICE_URL: upstream.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE,
    RATE_LIMIT_PER_ADDRESS: String(PER_ADDRESS), RATE_LIMIT_PER_USER: String(PER_USER), RATE_LIMIT_WINDOW_S: String(WINDOW_S),
  };
  instances = [0, 1].map(() => startGatewayProcess({ ...env, TRUSTED_PROXIES: "127.0.0.1", REDIS_URL: redis.url, LOG_LEVEL: "info" }));
  const urls = await Promise.all(instances.map((instance) => instance.listening));
  untrusting = await startGateway(env);
  nginx = await startNginx([
    { upstreams: urls.map((url) => new URL(url).host) },
    { upstreams: [`127.0.0.1:${(untrusting.app.server.address() as AddressInfo).port}`] },
  ]);
  [balanced, direct] = nginx.urls as [string, string];
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  await Promise.all([...(instances ?? []).map((instance) => instance.stop()), untrusting?.close()]);
  await Promise.all([jwks.stop(), upstream.stop(), redis.stop()]);
});

/** A client of its own, at 127.0.0.`n`, talking to nginx. */
function client(n: number, base = () => balanced) {
  const localAddress = `127.0.0.${n}`;
  return {
    address: localAddress,
    get: (path: string, headers: Record<string, string> = {}) => httpRequest(`${base()}${path}`, { localAddress, headers }),
  };
}

/** Requests the upstream received whose X-Real-IP (the gateway's resolved client) is `address`. */
const forwardedFor = (address: string) => upstream.requests.filter((request) => request.headers["x-real-ip"] === address);

/** The access lines each instance wrote matching `match`, once `total` of them are out. */
async function linesPerInstance(match: (line: ReturnType<typeof accessLines>[number]) => boolean, total: number) {
  const read = () => instances.map((instance) => accessLines(instance.output().stdout).filter(match));
  await waitFor(() => read().flat().length >= total, 10_000, `${total} access lines`);
  return read();
}

function expectRefused(response: ClientResponse, limit: number, detail: string): void {
  expect(response.status).toBe(429);
  expect(header(response, "content-type")).toBe("application/problem+json");
  expect((JSON.parse(response.body) as { detail: string }).detail).toBe(detail);
  const retryAfter = Number(header(response, "retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(WINDOW_S);
  expect([header(response, "ratelimit-limit"), header(response, "ratelimit-remaining"), header(response, "ratelimit-reset")]).toEqual([String(limit), "0", String(retryAfter)]);
}

describe("two gateways behind nginx, trusting it, counting in Redis", { timeout: 60_000 }, () => {
  it("counts the per-address limit per real client, across both instances", async () => {
    await awaitWindowRoom(WINDOW_S);
    const alice = client(51);
    for (let i = 0; i < PER_ADDRESS; i++) expect((await alice.get(PUBLIC)).status).toBe(200);
    expectRefused(await alice.get(PUBLIC), PER_ADDRESS, "too many requests from this address; slow down");
    // Another client behind the same nginx has its own budget.
    const bob = client(52);
    expect((await bob.get(PUBLIC)).status).toBe(200);

    // The upstream was told who the client really is, and so were the logs, of both instances.
    expect(forwardedFor(alice.address)).toHaveLength(PER_ADDRESS);
    expect(forwardedFor(bob.address)).toHaveLength(1);
    const [first, second] = await linesPerInstance((line) => line.client === alice.address, PER_ADDRESS + 1);
    expect(first!.length).toBeGreaterThan(0);
    expect(second!.length).toBeGreaterThan(0);
    expect([...first!, ...second!].map((line) => line.status).sort()).toEqual([...Array(PER_ADDRESS).fill(200), 429]);
  });

  it("takes the address nginx saw, whatever X-Forwarded-For the client sends", async () => {
    await awaitWindowRoom(WINDOW_S);
    const mallory = client(53);
    // A new made-up address on every request, and nginx's own (trusted) address: none of them count.
    const statuses: number[] = [];
    for (let i = 0; i <= PER_ADDRESS; i++) {
      const spoof = i % 2 === 0 ? `198.51.100.${i + 1}` : "127.0.0.1";
      statuses.push((await mallory.get(PUBLIC, { "x-forwarded-for": spoof })).status);
    }
    expect(statuses).toEqual([...Array(PER_ADDRESS).fill(200), 429]);
    const seen = forwardedFor(mallory.address);
    expect(seen).toHaveLength(PER_ADDRESS);
    // What the client claimed is passed on as such, to the left of what nginx and the gateway saw.
    expect(seen[0]!.headers["x-forwarded-for"]).toBe(`198.51.100.1, ${mallory.address}, 127.0.0.1`);
    expect(upstream.requests.filter((request) => String(request.headers["x-real-ip"]).startsWith("198.51.100."))).toEqual([]);

    // Claiming to be a client whose budget is untouched does not help; claiming one that is
    // spent does not hurt an honest client either.
    const victim = client(54);
    expect((await victim.get(PUBLIC, { "x-forwarded-for": mallory.address })).status).toBe(200);
    expect(forwardedFor(victim.address)).toHaveLength(1);
  });

  it("holds the per-user limit across both instances: the total is shared through Redis", async () => {
    await awaitWindowRoom(WINDOW_S);
    const token = { authorization: `Bearer ${await mintToken({ key, sub: "nina", iat: Math.floor(Date.now() / 1000) })}` };
    // Each from another address, so only the per-user budget can run out.
    const statuses: number[] = [];
    for (let i = 0; i <= PER_USER; i++) {
      const response = await client(60 + i).get("/api/nina/tasks", token);
      statuses.push(response.status);
      if (i === PER_USER) expectRefused(response, PER_USER, "too many requests for this user; slow down");
    }
    expect(statuses).toEqual([...Array(PER_USER).fill(200), 429]);
    expect(upstream.requests.filter((request) => request.headers["x-user-id"] === "nina")).toHaveLength(PER_USER);
    // nginx alternated: each instance served some of them, and neither alone allowed more.
    const [first, second] = await linesPerInstance((line) => line.sub === "nina", PER_USER + 1);
    expect(first!.length).toBeGreaterThan(0);
    expect(second!.length).toBeGreaterThan(0);
    expect(first!.length + second!.length).toBe(PER_USER + 1);
  });
});

describe("a gateway behind nginx that does not trust it", () => {
  it("counts every client as nginx's address, as before TRUSTED_PROXIES", async () => {
    await awaitWindowRoom(WINDOW_S);
    const carol = client(70, () => direct);
    for (let i = 0; i < PER_ADDRESS; i++) expect((await carol.get(PUBLIC)).status).toBe(200);
    // Another real client shares nginx's budget, spent by carol.
    const dave = client(71, () => direct);
    expectRefused(await dave.get(PUBLIC), PER_ADDRESS, "too many requests from this address; slow down");
    const viaUntrusting = upstream.requests.filter((request) => request.headers["x-real-ip"] === "127.0.0.1");
    expect(viaUntrusting).toHaveLength(PER_ADDRESS);
    // nginx's X-Forwarded-For is passed on, not believed.
    expect(viaUntrusting[0]!.headers["x-forwarded-for"]).toBe(`${carol.address}, 127.0.0.1`);
  });
});
