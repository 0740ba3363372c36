import "./styles.css";
import { checkTaskInput, TaskApi, TokenKeeper, type StatusFilter, type Task, type TaskInput } from "./api.ts";
import { currentUser, fetchJwt, signIn, signOut, signUp, type User } from "./auth.ts";
import { ClientError, SESSION_ENDED_MESSAGE } from "./errors.ts";
import { busy, clearMessage, readEditForm, renderTasks, showAuth, showMessage, showTasks, ui, type AuthMode, type EditDraft } from "./view.ts";

/** The JWT lives here, in this page's memory, and nowhere else. */
const tokens = new TokenKeeper(fetchJwt);

/** Tells the other tabs of this origin that the session is over (no token is ever sent). */
const tabs = new BroadcastChannel("todo-web-client");

const state: {
  user: User | undefined;
  api: TaskApi | undefined;
  tasks: Task[];
  editing: EditDraft | undefined;
  /** Whose unsaved input the forms hold; another user signing in starts empty. */
  draftsOf: string | undefined;
} = { user: undefined, api: undefined, tasks: [], editing: undefined, draftsOf: undefined };

/** Runs an action; any failure becomes a message, and an ended session the sign-in form. */
async function attempt(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof ClientError)) {
      console.error(error);
      showMessage("error", "Something went wrong in this page. Reload it and try again.");
    } else if (error.code === "session-ended") {
      endSession(SESSION_ENDED_MESSAGE);
    } else {
      showMessage("error", error.message);
    }
  }
}

function authMode(): AuthMode {
  return ui.authForm.dataset["mode"] === "sign-up" ? "sign-up" : "sign-in";
}

/** Back to the sign-in form, keeping the forms' contents for the same user. */
function endSession(message: string): void {
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
  showTasks(user);
  await reload();
}

function discardDrafts(): void {
  ui.newTask.reset();
  state.editing = undefined;
  state.tasks = [];
  renderTasks([], undefined);
}

async function reload(): Promise<void> {
  const api = requireApi();
  state.tasks = await api.list(ui.filter.value as StatusFilter);
  if (state.editing && !state.tasks.some((task) => task.id === state.editing?.id)) state.editing = undefined;
  renderTasks(state.tasks, state.editing);
}

function requireApi(): TaskApi {
  if (!state.api) throw new ClientError("session-ended", SESSION_ENDED_MESSAGE);
  return state.api;
}

function ensureValid(input: TaskInput): void {
  const problem = checkTaskInput(input);
  if (problem) throw problem;
}

// Sign-in and sign-up.
ui.authSwitch.addEventListener("click", () => {
  clearMessage();
  showAuth(authMode() === "sign-in" ? "sign-up" : "sign-in");
});

ui.authForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void attempt(() =>
    busy(ui.authForm, async () => {
      const mode = authMode();
      const name = ui.name.value.trim();
      const email = ui.email.value.trim();
      const password = ui.password.value;
      if (mode === "sign-up" && name === "") throw new ClientError("invalid-input", "Enter your name.");
      if (email === "") throw new ClientError("invalid-input", "Enter your email address.");
      if (password === "") throw new ClientError("invalid-input", "Enter your password.");
      const user = mode === "sign-up" ? await signUp({ name, email, password }) : await signIn({ email, password });
      clearMessage();
      await enter(user);
    }),
  );
});

ui.signOut.addEventListener("click", () => {
  void attempt(async () => {
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

// Tasks.
ui.newTask.addEventListener("submit", (event) => {
  event.preventDefault();
  void attempt(() =>
    busy(ui.newTask, async () => {
      const input = { title: ui.newTitle.value.trim(), description: ui.newDescription.value.trim() };
      ensureValid(input);
      await requireApi().create(input);
      ui.newTask.reset();
      clearMessage();
      await reload();
      ui.newTitle.focus();
    }),
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
    renderTasks(state.tasks, state.editing);
    ui.list.querySelector<HTMLInputElement>("form.edit input[name=title]")?.focus();
  } else if (action === "cancel") {
    state.editing = undefined;
    renderTasks(state.tasks, undefined);
  } else if (action === "toggle" || action === "delete") {
    void attempt(async () => {
      try {
        await (action === "toggle" ? requireApi().toggle(id) : requireApi().remove(id));
      } catch (error) {
        // Show the task as it was (a refused toggle flips its box back); a vanished one goes.
        renderTasks(state.tasks, state.editing);
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
  void attempt(() =>
    busy(form, async () => {
      const input = readEditForm(form);
      state.editing = { id, ...input };
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
  );
});

// Start: a session cookie from an earlier visit signs the user straight in.
void attempt(async () => {
  const user = await currentUser().catch((error: unknown) => {
    showAuth("sign-in");
    throw error;
  });
  if (user) await enter(user);
  else showAuth("sign-in");
});
