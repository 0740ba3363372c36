/**
 * `npm run demo`: the README's conversation through the gateway, step by step, with the status
 * of each answer. It signs up a fresh address (so it runs again as is), signs in with it,
 * exchanges the session for a JWT, creates and lists a task, and shows the gateway refusing
 * another user's path (403) and a request without a token (401). Exits 1 when an answer is not
 * the one expected. `GATEWAY` names the gateway (default `http://127.0.0.1:8080`, `npm start`'s).
 *
 * It talks plain HTTP, as curl does: no browser headers (`Origin`, `Sec-Fetch-*`), which Better
 * Auth reserves for its origin checks.
 */
import http from "node:http";

const GATEWAY = (process.env.GATEWAY ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
/** No answer within this: the step fails, the demo does not hang. */
const STEP_TIMEOUT_MS = 10_000;
const PASSWORD = "correct horse battery staple";

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

function call(method: string, path: string, options: { token?: string; json?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
  if (payload !== undefined) headers["content-type"] = "application/json";
  return new Promise((resolve, reject) => {
    const request = http.request(`${GATEWAY}${path}`, { method, headers, timeout: STEP_TIMEOUT_MS }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", reject);
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = text;
        try {
          body = text === "" ? undefined : JSON.parse(text);
        } catch {
          // Not JSON: keep the text.
        }
        resolve({ status: response.statusCode ?? 0, body });
      });
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${STEP_TIMEOUT_MS} ms`)));
    request.on("error", reject);
    request.end(payload);
  });
}

let failures = 0;

/** Prints one line per step: what was asked, the status, and what the answer says. */
async function step(label: string, expected: number, request: () => Promise<Answer>, describe: (body: unknown) => string = () => ""): Promise<unknown> {
  let answer: Answer;
  try {
    answer = await request();
  } catch (error) {
    failures += 1;
    console.log(`${label.padEnd(34)} ✗ ${(error as Error).message} (is the stack running? npm start; GATEWAY=${GATEWAY})`);
    process.exit(1);
  }
  const ok = answer.status === expected;
  if (!ok) failures += 1;
  const detail = ok ? describe(answer.body) : `expected ${expected}: ${JSON.stringify(answer.body)}`;
  console.log(`${label.padEnd(34)} ${answer.status}${ok ? "" : " ✗"}${detail ? `  ${detail}` : ""}`);
  return answer.body;
}

const field = (body: unknown, ...path: string[]): string => {
  let value: unknown = body;
  for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key];
  return typeof value === "string" ? value : "";
};

/** "900 s", read from the token's own `iat` and `exp` (the demo checks nothing else in it). */
function lifetimeOf(jwt: string): string {
  try {
    const claims = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as { iat?: number; exp?: number };
    return typeof claims.exp === "number" && typeof claims.iat === "number" ? `${claims.exp - claims.iat} s` : "(no exp)";
  } catch {
    return "(not a JWT)";
  }
}

console.log(`Talking to the gateway at ${GATEWAY}\n`);
const email = `ada-${Date.now()}@example.com`;
const signedUp = await step("POST /api/auth/sign-up/email", 200, () => call("POST", "/api/auth/sign-up/email", { json: { email, password: PASSWORD, name: "Ada" } }),
  (body) => `${email}, user id ${field(body, "user", "id")}`);
const userId = field(signedUp, "user", "id");
const signedIn = await step("POST /api/auth/sign-in/email", 200, () => call("POST", "/api/auth/sign-in/email", { json: { email, password: PASSWORD } }),
  () => "a session token");
const session = field(signedIn, "token");
const issued = await step("GET  /api/auth/token", 200, () => call("GET", "/api/auth/token", { token: session }),
  (body) => `a JWT valid ${lifetimeOf(field(body, "token"))}`);
const jwt = field(issued, "token");
await step(`POST /api/{user}/tasks`, 201, () => call("POST", `/api/${encodeURIComponent(userId)}/tasks`, { token: jwt, json: { title: "Buy milk" } }),
  (body) => `task ${String((body as { id?: unknown }).id)} "${field(body, "title")}"`);
await step(`GET  /api/{user}/tasks`, 200, () => call("GET", `/api/${encodeURIComponent(userId)}/tasks`, { token: jwt }),
  (body) => (Array.isArray(body) ? `${body.length} task(s): ${body.map((task: { title?: unknown }) => String(task.title)).join(", ")}` : ""));
await step("GET  /api/someone-else/tasks", 403, () => call("GET", "/api/someone-else/tasks", { token: jwt }),
  (body) => `refused: ${field(body, "detail")}`);
await step("GET  /api/{user}/tasks, no token", 401, () => call("GET", `/api/${encodeURIComponent(userId)}/tasks`),
  (body) => `refused: ${field(body, "detail")}`);

console.log(failures === 0 ? "\nEvery answer was the one expected." : `\n${failures} answer(s) were not the ones expected.`);
process.exit(failures === 0 ? 0 : 1);
