import { ClientError, fieldError, networkError, SESSION_ENDED_MESSAGE, unavailable, type FieldName } from "./errors.ts";

/** A task as the Spec 001 API returns it. */
export interface Task {
  readonly id: number;
  readonly user_id: string;
  readonly title: string;
  readonly description: string | null;
  readonly completed: boolean;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface TaskInput {
  readonly title: string;
  readonly description: string;
}

export type StatusFilter = "all" | "pending" | "completed";

/** The API's own limits (Spec 001: title 1-200 characters, description at most 1000). */
export const TITLE_MAX = 200;
export const DESCRIPTION_MAX = 1000;

/**
 * Holds the JWT in this page's memory only: never in `localStorage`, `sessionStorage` or a
 * cookie, so it ends with the page and no other page or script storage can read it.
 * Concurrent refreshes share one request to the auth-service.
 */
export class TokenKeeper {
  #token: string | undefined;
  #pending: Promise<string> | undefined;

  constructor(private readonly fetchJwt: () => Promise<string>) {}

  /** The token in memory, or a freshly fetched one. */
  current(): Promise<string> {
    return this.#token !== undefined ? Promise.resolve(this.#token) : this.refresh();
  }

  /** A token other than `stale`: the one another call already fetched, or a new one. */
  renew(stale: string): Promise<string> {
    return this.#token !== undefined && this.#token !== stale ? Promise.resolve(this.#token) : this.refresh();
  }

  forget(): void {
    this.#token = undefined;
  }

  /** The token in memory right now, if any, without fetching one (for a page that is going away). */
  peek(): string | undefined {
    return this.#token;
  }

  private refresh(): Promise<string> {
    this.#token = undefined;
    this.#pending ??= this.fetchJwt()
      .then((token) => (this.#token = token))
      .finally(() => (this.#pending = undefined));
    return this.#pending;
  }
}

/**
 * The task API through the gateway, as the signed-in user. Every call carries
 * `Authorization: Bearer <jwt>`. A 401 means the JWT is no longer accepted (expired, or the
 * signing key rotated): the call fetches a fresh JWT once and is retried once; if there is no
 * session to get one from, or the retry is refused too, it throws `session-ended`.
 */
export class TaskApi {
  constructor(
    readonly userId: string,
    private readonly tokens: TokenKeeper,
  ) {}

  list(status: StatusFilter): Promise<Task[]> {
    return this.send<Task[]>("GET", status === "all" ? "" : `?status=${status}`);
  }

  create(input: TaskInput): Promise<Task> {
    return this.send<Task>("POST", "", input);
  }

  update(id: number, input: TaskInput): Promise<Task> {
    return this.send<Task>("PUT", `/${id}`, input);
  }

  toggle(id: number): Promise<Task> {
    return this.send<Task>("PATCH", `/${id}/complete`);
  }

  async remove(id: number): Promise<void> {
    await this.send<undefined>("DELETE", `/${id}`);
  }

  /**
   * For a page being closed: sends the DELETE at once with `keepalive`, so it outlives the
   * page, with the JWT already in memory (there is no time to fetch one, nor to retry).
   * Returns false when there is no JWT in memory: then nothing is sent and the task stays.
   */
  removeAsPageCloses(id: number): boolean {
    const token = this.tokens.peek();
    if (token === undefined) return false;
    void fetch(`/api/${encodeURIComponent(this.userId)}/tasks/${id}`, {
      method: "DELETE", headers: { authorization: `Bearer ${token}` }, credentials: "same-origin", keepalive: true,
    }).catch(() => undefined);
    return true;
  }

  private async send<T>(method: string, suffix: string, body?: TaskInput): Promise<T> {
    const url = `/api/${encodeURIComponent(this.userId)}/tasks${suffix}`;
    const token = await this.tokens.current();
    let response = await attempt(method, url, token, body);
    if (response.status === 401) {
      const fresh = await this.tokens.renew(token);
      response = await attempt(method, url, fresh, body);
      if (response.status === 401) {
        this.tokens.forget();
        throw new ClientError("session-ended", SESSION_ENDED_MESSAGE);
      }
    }
    if (!response.ok) throw await describeTaskFailure(response);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
}

async function attempt(method: string, url: string, token: string, body: TaskInput | undefined): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  try {
    return await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  } catch (cause) {
    throw networkError(cause);
  }
}

interface ValidationIssue {
  readonly type?: string;
  readonly loc?: readonly (string | number)[];
  readonly msg?: string;
}

/** Turns a refusal from the gateway (problem+json) or the API (FastAPI 422) into a sentence. */
export async function describeTaskFailure(response: Response): Promise<ClientError> {
  const { status } = response;
  const body: unknown = await response.json().catch(() => undefined);
  if (status === 422 || status === 400) {
    const issues = (body as { detail?: unknown } | undefined)?.detail;
    if (Array.isArray(issues) && issues.length > 0) {
      const fields: Partial<Record<FieldName, string>> = {};
      for (const issue of issues as ValidationIssue[]) {
        const field = issue.loc?.at(-1);
        if (field === "title" || field === "description") fields[field] ??= describeIssue(issue);
      }
      return new ClientError("invalid-input", (issues as ValidationIssue[]).map(describeIssue).join(" "), { fields });
    }
    const detail = (body as { detail?: unknown } | undefined)?.detail;
    return new ClientError("invalid-input", typeof detail === "string" ? detail : "The request was refused as invalid.");
  }
  if (status === 403) return new ClientError("forbidden", "You are not allowed to do that.");
  if (status === 404) return new ClientError("not-found", "That task no longer exists.");
  if (status === 413) return new ClientError("invalid-input", "That is too much text to send.");
  if (status >= 500) return unavailable(status, "task service");
  return new ClientError("unexpected", `Something went wrong (HTTP ${status}).`);
}

function describeIssue(issue: ValidationIssue): string {
  const field = issue.loc?.at(-1);
  if (field === "title" && issue.type === "string_too_short") return "Enter a title.";
  if (field === "title" && issue.type === "string_too_long") return `The title is too long: at most ${TITLE_MAX} characters.`;
  if (field === "title" && issue.type === "missing") return "Enter a title.";
  if (field === "description" && issue.type === "string_too_long") {
    return `The description is too long: at most ${DESCRIPTION_MAX} characters.`;
  }
  return `${String(field ?? "input")}: ${issue.msg ?? "invalid"}.`;
}

/**
 * The API's own rules, checked before sending so the user hears about them at once. Lengths
 * count characters (code points), as the API does.
 */
export function checkTaskInput(input: TaskInput): ClientError | undefined {
  const titleLength = [...input.title].length;
  if (titleLength === 0) return fieldError("invalid-input", "title", "Enter a title.");
  if (titleLength > TITLE_MAX) {
    return fieldError("invalid-input", "title", `The title is too long: ${titleLength} characters, at most ${TITLE_MAX}.`);
  }
  const descriptionLength = [...input.description].length;
  if (descriptionLength > DESCRIPTION_MAX) {
    return fieldError("invalid-input", "description", `The description is too long: ${descriptionLength} characters, at most ${DESCRIPTION_MAX}.`);
  }
  return undefined;
}
