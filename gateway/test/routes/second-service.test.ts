/**
 * Putting an unrelated service behind the gateway with a route file only: a "notes" service
 * that trusts `X-User-Email` and `X-User-Role`, reachable only by editors, next to the Spec 001
 * routes. Client copies of the mapped headers are scrubbed on every route, in any case.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { JwksServer, createSigningKey, type SigningKey } from "../helpers/keys.ts";
import { mintToken } from "../helpers/tokens.ts";
import { RecordingUpstream } from "../helpers/upstream.ts";
import { rawGet, sendRaw } from "../helpers/raw-http.ts";

let key: SigningKey;
let jwks: JwksServer;
let notes: RecordingUpstream;
let tasks: RecordingUpstream;
let gateway: RunningGateway;
const dir = mkdtempSync(join(tmpdir(), "second-service-"));

beforeAll(async () => {
  key = await createSigningKey();
  jwks = await new JwksServer([key]).start();
  notes = await new RecordingUpstream().start();
  tasks = await new RecordingUpstream().start();
  const file = join(dir, "routes.yaml");
  writeFileSync(file, `
upstreams:
  notes: { url: "${notes.url}", timeoutMs: 2000 }
  tasks: { url: "\${LEGACY_API_URL}" }
routes:
  - name: notes.list
    methods: [GET]
    path: /notes/{owner}
    upstream: notes
    owner: sub == owner
    claims: { role: [editor, admin] }
    headers: { X-User-Email: email, X-User-Role: role }
    credentials: strip
  - name: notes.public
    methods: [GET]
    path: /notes/public/*
    upstream: notes
    auth: none
  - { name: tasks.list, methods: [GET], path: "/api/{user_id}/tasks", upstream: tasks, owner: sub == user_id }
`);
  gateway = await startGateway({ GATEWAY_CONFIG: file, JWKS_URL: jwks.url, LEGACY_API_URL: tasks.url, AUTH_SERVICE_URL: tasks.url });
});
afterAll(async () => {
  await gateway.close();
  await Promise.all([jwks.stop(), notes.stop(), tasks.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const editor = () => mintToken({ key, sub: "ada", claims: { email: "ada@example.com", role: "editor" } });

function values(recorded: RecordingUpstream, name: string): string[] {
  const raw = recorded.last!.rawHeaders;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

describe("a second service behind the gateway", () => {
  it("lets an editor read their own notes, with claims mapped to headers", async () => {
    const response = await fetch(`${gateway.url}/notes/ada`, { headers: { authorization: `Bearer ${await editor()}` } });
    expect(response.status).toBe(200);
    expect(notes.last).toMatchObject({ url: "/notes/ada" });
    expect(values(notes, "x-user-email")).toEqual(["ada@example.com"]);
    expect(values(notes, "x-user-role")).toEqual(["editor"]);
    expect(values(notes, "x-user-id")).toEqual(["ada"]);
    expect(values(notes, "authorization")).toEqual([]); // credentials: strip
  });

  it("replaces every spoofed client copy of a mapped header", async () => {
    const token = await editor();
    await sendRaw(gateway.port, rawGet("/notes/ada", [
      `Authorization: Bearer ${token}`, "X-User-Email: boss@example.com", "x-user-email: ceo@example.com", "X-USER-ROLE: admin",
    ]));
    expect(values(notes, "x-user-email")).toEqual(["ada@example.com"]);
    expect(values(notes, "x-user-role")).toEqual(["editor"]);
  });

  it("scrubs mapped headers on routes that do not map them, and on public routes", async () => {
    await sendRaw(gateway.port, rawGet("/notes/public/readme", ["X-User-Email: boss@example.com", "X-User-Role: admin"]));
    expect(values(notes, "x-user-email")).toEqual([]);
    expect(values(notes, "x-user-role")).toEqual([]);
    await sendRaw(gateway.port, rawGet("/api/ada/tasks", [`Authorization: Bearer ${await editor()}`, "X-User-Email: boss@example.com"]));
    expect(values(tasks, "x-user-email")).toEqual([]);
  });

  it("omits a mapped header when the token lacks the claim, rather than inventing one", async () => {
    const noEmail = await mintToken({ key, sub: "bo", claims: { role: "admin" } });
    const response = await fetch(`${gateway.url}/notes/bo`, { headers: { authorization: `Bearer ${noEmail}`, "x-user-email": "x@y" } });
    expect(response.status).toBe(200);
    expect(values(notes, "x-user-email")).toEqual([]);
  });

  it("omits a mapped header whose value an upstream could read differently (spaces at either end, controls)", async () => {
    for (const email of [" ada@example.com", "ada@example.com ", "ada@example.com\t", "ada\u0000@example.com", ""]) {
      const token = await mintToken({ key, sub: "ada", claims: { email, role: "editor" } });
      const response = await fetch(`${gateway.url}/notes/ada`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      expect(values(notes, "x-user-email")).toEqual([]);
      expect(values(notes, "x-user-role")).toEqual(["editor"]);
    }
  });

  it("refuses a token without a required claim value with 403", async () => {
    const before = notes.requests.length;
    for (const claims of [{ role: "viewer" }, {}, { role: ["viewer"] }]) {
      const token = await mintToken({ key, sub: "ada", claims });
      expect((await fetch(`${gateway.url}/notes/ada`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
    }
    expect(notes.requests.length).toBe(before);
  });

  it("accepts a required value inside an array claim", async () => {
    const token = await mintToken({ key, sub: "ada", claims: { role: ["viewer", "admin"] } });
    expect((await fetch(`${gateway.url}/notes/ada`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it("keeps ownership: an editor cannot read another owner's notes", async () => {
    expect((await fetch(`${gateway.url}/notes/bo`, { headers: { authorization: `Bearer ${await editor()}` } })).status).toBe(403);
  });

  it("proxies nothing the file does not list", async () => {
    expect((await fetch(`${gateway.url}/api/auth/get-session`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/app/`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
  });

  it("reports each upstream in /readyz", async () => {
    const body = (await (await fetch(`${gateway.url}/readyz`)).json()) as { checks: Record<string, string> };
    expect(body.checks).toEqual({ keys: "ok", "upstream:notes": "ok", "upstream:tasks": "ok", load: "ok" });
  });
});
