/**
 * Attack: revoke or un-revoke at will, or slip past a revocation. Whoever can reach Redis (or
 * stand where the feed is) could publish events; whoever holds a revoked token keeps trying it.
 * A gateway applies only events signed by a key of its JWKS, typed `revocation+jwt`, for its
 * issuer and the events' own audience, unexpired and well formed: anything else is ignored and
 * logged. An event can never pass as a bearer token, nor a token as an event. A revoked token
 * is refused from the cache too. The transport's failure follows REVOCATION_FAIL_MODE.
 * (docs/revocation.md; the real auth-service and two gateways: e2e/revocation.test.ts.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NOW_S } from "../helpers/clock.ts";
import { FeedServer } from "../helpers/feed.ts";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { JwksServer, createSigningKey, type SigningKey } from "../helpers/keys.ts";
import { waitFor } from "../helpers/process.ts";
import { PrivateRedis } from "../helpers/redis.ts";
import { mintRevocationEvent, mintToken } from "../helpers/tokens.ts";
import { RecordingUpstream } from "../helpers/upstream.ts";

let key: SigningKey;
let stranger: SigningKey;
let jwks: JwksServer;
let upstream: RecordingUpstream;
let feed: FeedServer;
let gateway: RunningGateway | undefined;

beforeAll(async () => {
  key = await createSigningKey();
  stranger = await createSigningKey();
  jwks = await new JwksServer([key]).start();
  upstream = await new RecordingUpstream().start();
});
afterAll(() => Promise.all([jwks.stop(), upstream.stop()]));
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await feed?.stop();
});

async function gatewayOnFeed(env: Record<string, string> = {}): Promise<RunningGateway> {
  feed = await new FeedServer().start();
  gateway = await startGateway({
    JWKS_URL: jwks.url, LEGACY_API_URL: upstream.url, AUTH_SERVICE_URL: upstream.url, REVOCATION_SOURCE: "feed", REVOCATION_FEED_URL: feed.url, ...env,
  });
  return gateway;
}

const token = (sub: string, sid: string, iat = NOW_S) => mintToken({ key, sub, claims: { sid }, iat });
const event = (claims: Record<string, unknown>, options: Parameters<typeof mintRevocationEvent>[2] = {}) =>
  mintRevocationEvent(key, claims, { iat: NOW_S, ...options });
async function status(jwt: string, user = "alice"): Promise<number> {
  const response = await fetch(`${gateway!.url}/api/${user}/tasks`, { headers: { authorization: `Bearer ${jwt}` } });
  await response.arrayBuffer();
  return response.status;
}
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${gateway!.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
}

describe("events from the feed", () => {
  it("refuses a revoked session's token, cached or not, with 401 token revoked", async () => {
    await gatewayOnFeed();
    const cached = await token("alice", "s-1");
    expect(await status(cached)).toBe(200); // now in the verified-token cache
    feed.publish(await event({ kind: "session", uid: "alice", sid: "s-1", reason: "sign-out" }));
    await waitFor(async () => (await status(cached)) === 401, 3_000, "the revocation applied");
    const response = await fetch(`${gateway!.url}/api/alice/tasks`, { headers: { authorization: `Bearer ${cached}` } });
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="todo-gateway", error="invalid_token", error_description="token revoked"');
    // Another session of the same user is untouched.
    expect(await status(await token("alice", "s-2"))).toBe(200);
    expect(await metric("gateway_revocations_held")).toBe(1);
    expect(await metric("gateway_revocation_connected")).toBe(1);
  });

  it("refuses every token a user held before a user-level cut, and none issued after", async () => {
    await gatewayOnFeed();
    const before = await token("alice", "s-1", NOW_S - 10);
    const after = await token("alice", "s-9", NOW_S + 2);
    feed.publish(await event({ kind: "user", uid: "alice", before: NOW_S, reason: "delete-user" }));
    await waitFor(async () => (await status(before)) === 401, 3_000, "the cut applied");
    expect(await status(after)).toBe(200);
    expect(await status(await token("bob", "s-b"), "bob")).toBe(200);
  });

  it.each([
    ["signed by a key the JWKS does not hold", () => mintRevocationEvent(stranger, { kind: "session", uid: "alice", sid: "s-1", reason: "sign-out" }, { iat: NOW_S })],
    ["without the event typ", () => event({ kind: "session", uid: "alice", sid: "s-1", reason: "sign-out" }, { header: { typ: "JWT" } })],
    ["for another audience", () => event({ kind: "session", uid: "alice", sid: "s-1", reason: "sign-out", aud: "http://issuer.test" })],
    ["for another issuer", () => event({ kind: "session", uid: "alice", sid: "s-1", reason: "sign-out" }, { issuer: "http://evil.test" })],
    ["expired", () => event({ kind: "session", uid: "alice", sid: "s-1", reason: "sign-out" }, { iat: NOW_S - 2000, lifetimeS: 60 })],
    ["with a sub (shaped like an access token)", () => event({ kind: "session", uid: "alice", sid: "s-1", reason: "sign-out", sub: "alice" })],
    ["of an unknown kind", () => event({ kind: "everyone", uid: "alice", reason: "sign-out" })],
    ["with no session id", () => event({ kind: "session", uid: "alice", reason: "sign-out" })],
    ["an access token", () => token("alice", "s-1")],
    ["not a JWS at all", async () => "garbage"],
  ])("ignores an event %s, and logs it", async (_what, forge) => {
    await gatewayOnFeed();
    const victim = await token("alice", "s-1");
    feed.publish(await forge());
    // The gateway has read the feed since (its next poll comes back with the same version).
    const polls = feed.polls;
    await waitFor(() => feed.polls > polls, 3_000, "a poll after the publish");
    expect(await status(victim)).toBe(200);
    expect(await metric("gateway_revocations_held")).toBe(0);
  });

  it("never accepts an event as a bearer token", async () => {
    await gatewayOnFeed();
    const asBearer = await event({ kind: "session", uid: "alice", sid: "s-1", reason: "sign-out" });
    expect(await status(asBearer)).toBe(401);
  });

  it("harmlessly applies a revocation for an unknown user or session", async () => {
    await gatewayOnFeed();
    feed.publish(await event({ kind: "session", uid: "nobody", sid: "no-such-session", reason: "sign-out" }), await event({ kind: "user", uid: "ghost", before: NOW_S, reason: "delete-user" }));
    await waitFor(async () => (await metric("gateway_revocations_held")) === 2, 3_000, "both applied");
    expect(await status(await token("alice", "s-1"))).toBe(200);
  });
});

describe("a gateway started after the revocation", () => {
  it("refuses the revoked token from its first request, and is not ready before it has read the record", async () => {
    feed = await new FeedServer().start();
    feed.publish(await event({ kind: "session", uid: "alice", sid: "s-1", reason: "sign-out" }));
    gateway = await startGateway({
      JWKS_URL: jwks.url, LEGACY_API_URL: upstream.url, AUTH_SERVICE_URL: upstream.url, REVOCATION_SOURCE: "feed", REVOCATION_FEED_URL: feed.url,
    });
    expect(await status(await token("alice", "s-1"))).toBe(401);
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
  });
});

describe("fail modes while the feed is away", () => {
  it("open (default): keeps serving with the revocations it knows, and reports it", async () => {
    await gatewayOnFeed();
    feed.publish(await event({ kind: "session", uid: "alice", sid: "s-1", reason: "sign-out" }));
    const revoked = await token("alice", "s-1");
    await waitFor(async () => (await status(revoked)) === 401, 3_000, "applied");
    feed.up = false;
    await waitFor(async () => (await metric("gateway_revocation_connected")) === 0, 5_000, "the loss noticed");
    expect(await status(revoked)).toBe(401);
    expect(await status(await token("alice", "s-2"))).toBe(200);
    const ready = await fetch(`${gateway!.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: Record<string, string> }).checks.revocations).toBe("missing");
    feed.up = true;
    await waitFor(async () => (await metric("gateway_revocation_connected")) === 1, 8_000, "reconnected");
  });

  it("closed: answers protected routes 503 until the feed is back, then serves again", async () => {
    await gatewayOnFeed({ REVOCATION_FAIL_MODE: "closed" });
    const jwt = await token("alice", "s-1");
    expect(await status(jwt)).toBe(200);
    feed.up = false;
    await waitFor(async () => (await status(jwt)) === 503, 5_000, "refusing while away");
    const refused = await fetch(`${gateway!.url}/api/alice/tasks`, { headers: { authorization: `Bearer ${jwt}` } });
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.headers.get("retry-after")).toBe("5");
    expect((await fetch(`${gateway!.url}/readyz`)).status).toBe(503);
    // Public routes are not its business.
    expect((await fetch(`${gateway!.url}/api/auth/x`)).status).toBe(200);
    feed.up = true;
    await waitFor(async () => (await status(jwt)) === 200, 8_000, "serving again");
  });
});

describe("events from Redis", () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await new PrivateRedis().start();
  });
  afterAll(() => redis.stop());

  it("applies events added to the stream at once, ignores forged ones, and replays what it missed while Redis was away", async () => {
    const writer = redis.client();
    gateway = await startGateway({
      JWKS_URL: jwks.url, LEGACY_API_URL: upstream.url, AUTH_SERVICE_URL: upstream.url, REDIS_URL: redis.url, REVOCATION_SOURCE: "redis",
    });
    try {
      const first = await token("alice", "s-1");
      expect(await status(first)).toBe(200);
      await writer.xadd("todo-gateway:revocations", "*", "token", await event({ kind: "session", uid: "alice", sid: "s-1", reason: "sign-out" }));
      await writer.xadd("todo-gateway:revocations", "*", "token", await mintRevocationEvent(stranger, { kind: "session", uid: "alice", sid: "s-2", reason: "sign-out" }, { iat: NOW_S }));
      await waitFor(async () => (await status(first)) === 401, 3_000, "applied from the stream");
      expect(await status(await token("alice", "s-2"))).toBe(200);

      // Redis goes away and comes back empty; the event written meanwhile (by an auth-service
      // that republishes on reconnect) is read in the replay.
      await redis.stop();
      await waitFor(async () => (await metric("gateway_revocation_connected")) === 0, 5_000, "the loss noticed");
      expect(await status(first)).toBe(401); // open mode: the last view holds
      await redis.start();
      const again = redis.client();
      await again.xadd("todo-gateway:revocations", "*", "token", await event({ kind: "session", uid: "alice", sid: "s-3", reason: "revoke-session" }));
      await waitFor(async () => (await status(await token("alice", "s-3"))) === 401, 10_000, "replayed after the reconnect");
      expect(await metric("gateway_revocation_connected")).toBe(1);
      again.disconnect();
    } finally {
      writer.disconnect();
    }
  }, 30_000);
});
