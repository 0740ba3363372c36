import type { Task, TaskInput } from "./api.ts";
import type { User } from "./auth.ts";
import { exactTime, parseApiTimestamp, relativeTime } from "./dates.ts";
import type { FieldName, FieldProblems } from "./errors.ts";
import { PASSWORD_RULE } from "./limits.ts";

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
  nameField: byId("name-field", HTMLDivElement),
  name: byId("auth-name", HTMLInputElement),
  email: byId("auth-email", HTMLInputElement),
  password: byId("auth-password", HTMLInputElement),
  passwordRule: byId("password-rule", HTMLParagraphElement),
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
  // The rule is stated before anything is sent, where a new password is chosen.
  ui.passwordRule.textContent = PASSWORD_RULE;
  ui.passwordRule.hidden = !signUp;
  ui.authSwitchText.textContent = signUp ? "Already have an account?" : "No account yet?";
  ui.authSwitch.textContent = signUp ? "Sign in" : "Create one";
}

export function showTasks(user: User): void {
  ui.authView.hidden = true;
  ui.tasksView.hidden = false;
  ui.account.hidden = false;
  ui.accountName.textContent = `${user.name} · ${user.email}`;
}

/**
 * Marks the fields a failure is about in `form` (`aria-invalid`, a red border) and puts each
 * field's sentence in its slot (`#<input id>-error`, which the input names in
 * `aria-describedby`). Returns the sentences that had no slot, for the message line.
 */
export function showFieldProblems(form: HTMLFormElement, problems: FieldProblems): string[] {
  clearFieldProblems(form);
  const unplaced: string[] = [];
  let first: HTMLElement | undefined;
  for (const [field, sentence] of Object.entries(problems) as [FieldName, string][]) {
    const input = form.elements.namedItem(field);
    if (!(input instanceof HTMLInputElement || input instanceof HTMLTextAreaElement)) {
      if (sentence) unplaced.push(sentence);
      continue;
    }
    input.setAttribute("aria-invalid", "true");
    first ??= input;
    const slot = input.id ? document.getElementById(`${input.id}-error`) : null;
    if (slot && sentence) {
      slot.textContent = sentence;
      slot.hidden = false;
    } else if (sentence) {
      unplaced.push(sentence);
    }
  }
  first?.focus();
  return unplaced;
}

/** Takes every mark and sentence off a form's fields, or off one field. */
export function clearFieldProblems(form: HTMLFormElement, only?: Element): void {
  for (const input of form.querySelectorAll<HTMLElement>("[aria-invalid]")) {
    if (only && input !== only) continue;
    input.removeAttribute("aria-invalid");
    const slot = input.id ? document.getElementById(`${input.id}-error`) : null;
    if (slot) {
      slot.hidden = true;
      slot.textContent = "";
    }
  }
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
export function renderTasks(tasks: readonly Task[], editing: EditDraft | undefined, deleting: ReadonlySet<number> = new Set()): void {
  const now = new Date();
  ui.list.replaceChildren(
    ...tasks.map((task) => (deleting.has(task.id) ? deletedItem(task) : editing?.id === task.id ? editItem(task, editing) : taskItem(task, now))),
  );
  const shown = tasks.filter((task) => !deleting.has(task.id)).length;
  ui.empty.hidden = shown > 0;
  ui.taskCount.textContent = `(${shown})`;
}

/** Brings every "3 minutes ago" up to date, leaving the rest of the list (and any edit) alone. */
export function refreshRelativeTimes(now = new Date()): void {
  for (const time of ui.list.querySelectorAll("time[datetime]")) {
    const date = new Date(time.getAttribute("datetime")!);
    if (!Number.isNaN(date.getTime())) time.textContent = relativeTime(date, now);
  }
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

/** `<time>` showing "3 minutes ago", the exact time on hover; `undefined` for an unreadable timestamp. */
function timeElement(timestamp: string, now: Date): HTMLTimeElement | undefined {
  const date = parseApiTimestamp(timestamp);
  if (!date) return undefined;
  const time = element("time", { dateTime: date.toISOString(), textContent: relativeTime(date, now), title: exactTime(date) });
  return time;
}

/** "Created 3 minutes ago · updated just now" (updated only once it differs). */
function datesLine(task: Task, now: Date): HTMLParagraphElement {
  const line = element("p", { className: "dates" });
  const created = timeElement(task.created_at, now);
  if (created) {
    created.classList.add("created");
    line.append("Created ", created);
  }
  const updated = task.updated_at !== task.created_at ? timeElement(task.updated_at, now) : undefined;
  if (updated) {
    updated.classList.add("updated");
    line.append(created ? " · updated " : "Updated ", updated);
  }
  return line;
}

function taskItem(task: Task, now: Date): HTMLLIElement {
  const toggle = element("input", { type: "checkbox", checked: task.completed });
  toggle.dataset["action"] = "toggle";
  toggle.setAttribute("aria-label", `Done: ${task.title}`);
  const body = element("div", { className: "body" }, element("span", { className: "title", textContent: task.title }));
  if (task.description) body.append(element("p", { className: "description", textContent: task.description }));
  body.append(datesLine(task, now));
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

/** A task deleted a moment ago: still undoable, the DELETE not yet sent. */
function deletedItem(task: Task): HTMLLIElement {
  const text = element("span", { className: "deleted-note", textContent: `Deleted “${task.title}”. ` });
  text.append(element("span", { className: "hint", textContent: "Undo now, or it is gone for good in a few seconds." }));
  const undo = actionButton("undo", "Undo", "primary");
  undo.setAttribute("aria-label", `Undo deleting ${task.title}`);
  const item = element("li", { className: "task deleted" }, element("div", { className: "body" }, text), element("div", { className: "actions" }, undo));
  item.setAttribute("aria-live", "polite");
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
