/** A few DOM helpers: building elements, and showing an RFC 9457 problem to the user. */
import type { Problem } from "@foodbroker/crm-client";

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined>;

/** `h("li", { class: "card" }, "text", child)`: an element with attributes and children (text is escaped). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

/** The element with this id, which index.html must have. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`#${id} is missing from index.html`);
  return element as T;
}

/**
 * Shows a problem in `box` (an element with role="alert"): its title and status, its detail, each field
 * error, and the request id to quote when reporting it. Inputs of `form` named after a field at fault are
 * marked invalid. `actions` go under it (e.g. a Reload button after a 412).
 */
export function showProblem(box: HTMLElement, problem: Problem, form?: HTMLFormElement, ...actions: Node[]): void {
  clearProblem(box, form);
  const errors = problem.errors ?? [];
  const parts: Child[] = [
    // A status of 0: no answer at all (see problemFrom).
    h("strong", { class: "problem-title" }, problem.status ? `${problem.title} (${problem.status})` : problem.title),
    h("p", { class: "problem-detail" }, problem.detail),
    errors.length > 0 &&
      h(
        "ul",
        { class: "problem-errors" },
        ...errors.map((error) =>
          error.field === null
            ? h("li", {}, error.detail)
            : h("li", { "data-field": error.field }, h("code", {}, error.field), ": ", error.detail),
        ),
      ),
    problem.request_id && h("p", { class: "problem-request-id" }, `Request id: ${problem.request_id}`),
    ...actions,
  ];
  for (const part of parts) if (part) box.append(part);
  for (const error of errors) {
    const input = error.field === null ? null : form?.elements.namedItem(error.field);
    if (input instanceof HTMLElement) input.setAttribute("aria-invalid", "true");
  }
  box.hidden = false;
}

export function clearProblem(box: HTMLElement, form?: HTMLFormElement): void {
  box.replaceChildren();
  box.hidden = true;
  form?.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
}

/** A short-lived confirmation in `box` (an element with role="status"). */
export function showStatus(box: HTMLElement, text: string): void {
  box.textContent = text;
  box.hidden = false;
}
