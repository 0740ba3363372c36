import "./styles.css";
import { checkTaskInput, TaskApi, TokenKeeper, type StatusFilter, type Task, type TaskInput } from "./api.ts";
import { checkAuthInput } from "./auth-input.ts";
import { currentUser, fetchJwt, signIn, signOut, signUp, type User } from "./auth.ts";
import { ClientError, SESSION_ENDED_MESSAGE } from "./errors.ts";
import {
  busy, clearFieldProblems, clearMessage, readEditForm, refreshRelativeTimes, renderTasks, showAuth, showFieldProblems, showMessage, showTasks, ui,
  type AuthMode, type EditDraft,
} from "./view.ts";

/** The JWT lives here, in this page's memory, and nowhere else. */
const tokens = new TokenKeeper(fetchJwt);

/** Tells the other tabs of this origin that the session is over (no token is ever sent). */
const tabs = new BroadcastChannel("todo-web-client");

/** How long a deleted task can be brought back before its DELETE is sent. */
const UNDO_WINDOW_MS = 5_000;
/** How often "3 minutes ago" is brought up to date. */
const RELATIVE_TIME_REFRESH_MS = 30_000;

/** A task deleted on screen whose DELETE waits for the undo window to pass. */
interface PendingDelete {
  readonly task: Task;
  readonly api: TaskApi;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The DELETE is on its way: too late to undo. */
  sending: boolean;
}

const state: {
  user: User | undefined;
  api: TaskApi | undefined;
  tasks: Task[];
  editing: EditDraft | undefined;
  deleting: Map<number, PendingDelete>;
  /** Whose unsaved input the forms hold; another user signing in starts empty. */
  draftsOf: string | undefined;
} = { user: undefined, api: undefined, tasks: [], editing: undefined, deleting: new Map(), draftsOf: undefined };

/**
 * Runs an action; any failure becomes a message, and an ended session the sign-in form. A
 * failure about fields of `form` marks them, with each field's sentence next to it when the
 * field has a place for one, and on the message line otherwise.
 */
async function attempt(work: () => Promise<void>, form?: HTMLFormElement): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof ClientError)) {
      console.error(error);
      showMessage("error", "Something went wrong in this page. Reload it and try again.");
    } else if (error.code === "session-ended") {
      endSession(SESSION_ENDED_MESSAGE);
    } else if (form && Object.keys(error.fields).length > 0) {
      const unplaced = showFieldProblems(form, error.fields);
      if (unplaced.length > 0) showMessage("error", unplaced.join(" "));
      else clearMessage();
    } else {
      showMessage("error", error.message);
    }
  }
}

function authMode(): AuthMode {
  return ui.authForm.dataset["mode"] === "sign-up" ? "sign-up" : "sign-in";
}

function render(): void {
  renderTasks(state.tasks, state.editing, new Set(state.deleting.keys()));
}

/** Back to the sign-in form, keeping the forms' contents for the same user. */
function endSession(message: string): void {
  cancelPendingDeletes();
  tokens.forget();
  state.user = undefined;
  state.api = undefined;
  showAuth("sign-in");
  showMessage("error", message);
  ui.email.focus();
}

async function enter(user: User): Promise<void> {
  if (state.draftsOf !== user.id) discardDrafts();
  state.user = user;
  state.draftsOf = user.id;
  state.api = new TaskApi(user.id, tokens);
  ui.password.value = "";
  clearFieldProblems(ui.authForm);
  showTasks(user);
  await reload();
}

function discardDrafts(): void {
  cancelPendingDeletes();
  ui.newTask.reset();
  state.editing = undefined;
  state.tasks = [];
  render();
}

async function reload(): Promise<void> {
  const api = requireApi();
  state.tasks = await api.list(ui.filter.value as StatusFilter);
  if (state.editing && !state.tasks.some((task) => task.id === state.editing?.id)) state.editing = undefined;
  render();
}

function requireApi(): TaskApi {
  if (!state.api) throw new ClientError("session-ended", SESSION_ENDED_MESSAGE);
  return state.api;
}

function ensureValid(input: TaskInput): void {
  const problem = checkTaskInput(input);
  if (problem) throw problem;
}

// Deleting, with a moment to take it back: the task leaves the list at once, and its DELETE is
// sent only once the undo window has passed. Undo within the window and nothing is ever sent.
function scheduleDelete(task: Task): void {
  const pending: PendingDelete = { task, api: requireApi(), timer: undefined, sending: false };
  pending.timer = setTimeout(() => void attempt(() => sendDelete(task.id)), UNDO_WINDOW_MS);
  state.deleting.set(task.id, pending);
  if (state.editing?.id === task.id) state.editing = undefined;
  render();
  ui.list.querySelector<HTMLButtonElement>(`li[data-id="${task.id}"] button[data-action=undo]`)?.focus();
}

function undoDelete(id: number): void {
  const pending = state.deleting.get(id);
  if (!pending || pending.sending) return;
  clearTimeout(pending.timer);
  state.deleting.delete(id);
  render();
  ui.list.querySelector<HTMLButtonElement>(`li[data-id="${id}"] button[data-action=delete]`)?.focus();
}

async function sendDelete(id: number): Promise<void> {
  const pending = state.deleting.get(id);
  if (!pending || pending.sending) return;
  clearTimeout(pending.timer);
  pending.sending = true;
  try {
    await pending.api.remove(id);
  } catch (error) {
    // Not deleted after all (a vanished task is as good as deleted): it is back in the list.
    state.deleting.delete(id);
    if (error instanceof ClientError && error.code === "not-found") {
      state.tasks = state.tasks.filter((task) => task.id !== id);
      render();
      return;
    }
    render();
    throw error;
  }
  state.deleting.delete(id);
  state.tasks = state.tasks.filter((task) => task.id !== id);
  render();
}

/** Sends every waiting DELETE now (before signing out). */
async function flushPendingDeletes(): Promise<void> {
  await Promise.all([...state.deleting.keys()].map((id) => sendDelete(id)));
}

/** The session ended before the window passed: those tasks were not deleted, and are not. */
function cancelPendingDeletes(): void {
  for (const pending of state.deleting.values()) clearTimeout(pending.timer);
  state.deleting.clear();
}

// Sign-in and sign-up.
ui.authSwitch.addEventListener("click", () => {
  clearMessage();
  clearFieldProblems(ui.authForm);
  showAuth(authMode() === "sign-in" ? "sign-up" : "sign-in");
});

// Typing in a marked field takes its mark off: the sentence was about what was there before.
for (const form of [ui.authForm, ui.newTask, ui.list]) {
  form.addEventListener("input", (event) => {
    const target = event.target;
    const owner = target instanceof HTMLElement ? target.closest("form") : null;
    if (owner && target instanceof Element && target.getAttribute("aria-invalid") === "true") clearFieldProblems(owner, target);
  });
}

ui.authForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void attempt(
    () =>
      busy(ui.authForm, async () => {
        clearFieldProblems(ui.authForm);
        const mode = authMode();
        const input = { name: ui.name.value.trim(), email: ui.email.value.trim(), password: ui.password.value };
        const problem = checkAuthInput(mode, input);
        if (problem) throw problem;
        const user = mode === "sign-up" ? await signUp(input) : await signIn(input);
        clearMessage();
        await enter(user);
      }),
    ui.authForm,
  );
});

ui.signOut.addEventListener("click", () => {
  void attempt(async () => {
    await flushPendingDeletes().catch(() => undefined);
    await signOut();
    tokens.forget();
    tabs.postMessage("signed-out");
    state.user = undefined;
    state.api = undefined;
    state.draftsOf = undefined;
    discardDrafts();
    showAuth("sign-in");
    showMessage("info", "You are signed out.");
  });
});

// Signed out in another tab: drop the JWT, so the next call here asks for a new one, finds no
// session and shows the sign-in form.
tabs.addEventListener("message", (event: MessageEvent) => {
  if (event.data === "signed-out") tokens.forget();
});

// The page is going away with deletes still waiting: send them now, outliving the page.
globalThis.addEventListener("pagehide", () => {
  for (const [id, pending] of state.deleting) {
    if (pending.sending) continue;
    clearTimeout(pending.timer);
    pending.api.removeAsPageCloses(id);
  }
  state.deleting.clear();
});

// Tasks.
ui.newTask.addEventListener("submit", (event) => {
  event.preventDefault();
  void attempt(
    () =>
      busy(ui.newTask, async () => {
        clearFieldProblems(ui.newTask);
        const input = { title: ui.newTitle.value.trim(), description: ui.newDescription.value.trim() };
        ensureValid(input);
        await requireApi().create(input);
        ui.newTask.reset();
        clearMessage();
        await reload();
        ui.newTitle.focus();
      }),
    ui.newTask,
  );
});

ui.filter.addEventListener("change", () => void attempt(reload));

ui.list.addEventListener("click", (event) => {
  const target = event.target;
  if (!(target instanceof HTMLElement)) return;
  const action = target.dataset["action"];
  const id = Number(target.closest("li")?.dataset["id"]);
  const task = state.tasks.find((candidate) => candidate.id === id);
  if (!action || !task) return;
  if (action === "edit") {
    state.editing = { id, title: task.title, description: task.description ?? "" };
    render();
    ui.list.querySelector<HTMLInputElement>("form.edit input[name=title]")?.focus();
  } else if (action === "cancel") {
    state.editing = undefined;
    render();
  } else if (action === "delete") {
    void attempt(async () => scheduleDelete(task));
  } else if (action === "undo") {
    undoDelete(id);
  } else if (action === "toggle") {
    void attempt(async () => {
      try {
        await requireApi().toggle(id);
      } catch (error) {
        // Show the task as it was (a refused toggle flips its box back); a vanished one goes.
        render();
        if (error instanceof ClientError && error.code === "not-found") await reload();
        throw error;
      }
      clearMessage();
      await reload();
    });
  }
});

ui.list.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !state.editing) return;
  const id = state.editing.id;
  void attempt(
    () =>
      busy(form, async () => {
        const input = readEditForm(form);
        state.editing = { id, ...input };
        clearFieldProblems(form);
        ensureValid(input);
        try {
          await requireApi().update(id, input);
        } catch (error) {
          if (error instanceof ClientError && error.code === "not-found") await reload();
          throw error;
        }
        state.editing = undefined;
        clearMessage();
        await reload();
      }),
    form,
  );
});

setInterval(() => refreshRelativeTimes(), RELATIVE_TIME_REFRESH_MS);

// Start: a session cookie from an earlier visit signs the user straight in.
void attempt(async () => {
  const user = await currentUser().catch((error: unknown) => {
    showAuth("sign-in");
    throw error;
  });
  if (user) await enter(user);
  else showAuth("sign-in");
});
