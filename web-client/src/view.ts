import type { Task, TaskInput } from "./api.ts";
import type { User } from "./auth.ts";

/** A task being edited: its id and what the user has typed so far. */
export interface EditDraft extends TaskInput {
  readonly id: number;
}

export type AuthMode = "sign-in" | "sign-up";

function byId<T extends HTMLElement>(id: string, type: { new (): T }): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`index.html has no <${type.name}> #${id}`);
  return element;
}

/** The page's fixed elements (index.html), looked up once. */
export const ui = {
  account: byId("account", HTMLDivElement),
  accountName: byId("account-name", HTMLSpanElement),
  signOut: byId("sign-out", HTMLButtonElement),
  message: byId("message", HTMLParagraphElement),
  authView: byId("auth-view", HTMLElement),
  authTitle: byId("auth-title", HTMLHeadingElement),
  authForm: byId("auth-form", HTMLFormElement),
  nameField: byId("name-field", HTMLLabelElement),
  name: byId("auth-name", HTMLInputElement),
  email: byId("auth-email", HTMLInputElement),
  password: byId("auth-password", HTMLInputElement),
  authSubmit: byId("auth-submit", HTMLButtonElement),
  authSwitchText: byId("auth-switch-text", HTMLSpanElement),
  authSwitch: byId("auth-switch", HTMLButtonElement),
  tasksView: byId("tasks-view", HTMLElement),
  newTask: byId("new-task", HTMLFormElement),
  newTitle: byId("new-title", HTMLInputElement),
  newDescription: byId("new-description", HTMLTextAreaElement),
  filter: byId("filter", HTMLSelectElement),
  taskCount: byId("task-count", HTMLSpanElement),
  empty: byId("empty", HTMLParagraphElement),
  list: byId("task-list", HTMLUListElement),
};

export function showMessage(kind: "error" | "info", text: string): void {
  ui.message.textContent = text;
  ui.message.className = `message ${kind}`;
  ui.message.hidden = false;
}

export function clearMessage(): void {
  ui.message.hidden = true;
  ui.message.textContent = "";
}

/** Shows the sign-in (or sign-up) form; whatever is typed in any form stays. */
export function showAuth(mode: AuthMode): void {
  const signUp = mode === "sign-up";
  ui.account.hidden = true;
  ui.tasksView.hidden = true;
  ui.authView.hidden = false;
  ui.authForm.dataset["mode"] = mode;
  ui.authTitle.textContent = signUp ? "Create an account" : "Sign in";
  ui.authSubmit.textContent = signUp ? "Create account" : "Sign in";
  ui.nameField.hidden = !signUp;
  ui.password.autocomplete = signUp ? "new-password" : "current-password";
  ui.authSwitchText.textContent = signUp ? "Already have an account?" : "No account yet?";
  ui.authSwitch.textContent = signUp ? "Sign in" : "Create one";
}

export function showTasks(user: User): void {
  ui.authView.hidden = true;
  ui.tasksView.hidden = false;
  ui.account.hidden = false;
  ui.accountName.textContent = `${user.name} · ${user.email}`;
}

/** Disables a form's buttons while its request is in flight, so nothing is sent twice. */
export async function busy<T>(form: HTMLFormElement, work: () => Promise<T>): Promise<T> {
  const buttons = [...form.querySelectorAll("button")];
  form.setAttribute("aria-busy", "true");
  for (const button of buttons) button.disabled = true;
  try {
    return await work();
  } finally {
    form.removeAttribute("aria-busy");
    for (const button of buttons) button.disabled = false;
  }
}

/**
 * Renders the list. All text goes in through `textContent`, never as HTML, so a task title
 * can never become markup or script.
 */
export function renderTasks(tasks: readonly Task[], editing: EditDraft | undefined): void {
  ui.list.replaceChildren(...tasks.map((task) => (editing?.id === task.id ? editItem(task, editing) : taskItem(task))));
  ui.empty.hidden = tasks.length > 0;
  ui.taskCount.textContent = `(${tasks.length})`;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function actionButton(action: string, label: string, className = "secondary"): HTMLButtonElement {
  const button = element("button", { type: "button", className, textContent: label });
  button.dataset["action"] = action;
  return button;
}

function taskItem(task: Task): HTMLLIElement {
  const toggle = element("input", { type: "checkbox", checked: task.completed });
  toggle.dataset["action"] = "toggle";
  toggle.setAttribute("aria-label", `Done: ${task.title}`);
  const body = element("div", { className: "body" }, element("span", { className: "title", textContent: task.title }));
  if (task.description) body.append(element("p", { className: "description", textContent: task.description }));
  const item = element(
    "li",
    { className: task.completed ? "task done" : "task" },
    toggle,
    body,
    element("div", { className: "actions" }, actionButton("edit", "Edit"), actionButton("delete", "Delete", "danger")),
  );
  item.dataset["id"] = String(task.id);
  return item;
}

function editItem(task: Task, draft: EditDraft): HTMLLIElement {
  const title = element("input", { name: "title", value: draft.title, autocomplete: "off" });
  title.setAttribute("aria-label", "Title");
  const description = element("textarea", { name: "description", value: draft.description, rows: 2 });
  description.setAttribute("aria-label", "Description");
  const form = element(
    "form",
    { className: "edit", noValidate: true },
    title,
    description,
    element("div", { className: "actions" }, element("button", { type: "submit", className: "primary", textContent: "Save" }), actionButton("cancel", "Cancel")),
  );
  const item = element("li", { className: "task editing" }, form);
  item.dataset["id"] = String(task.id);
  return item;
}

/** What the user has typed in an edit form. */
export function readEditForm(form: HTMLFormElement): TaskInput {
  const title = form.elements.namedItem("title");
  const description = form.elements.namedItem("description");
  return {
    title: title instanceof HTMLInputElement ? title.value.trim() : "",
    description: description instanceof HTMLTextAreaElement ? description.value.trim() : "",
  };
}
