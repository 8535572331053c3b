// Form fields of the side panel: a label naming the field, help text, the server's errors
// beside it (aria-describedby, aria-invalid), and the variable picker on templated fields.
// Every field carries data-field (its path as the server names it) so errors find it.

import { h, uid } from "./dom.js";
import { pickerButton } from "./picker.js";

function wrapper(field, label, control, { help, required, extra, inline } = {}) {
  const id = control.id || uid("f");
  control.id = id;
  const helpId = help ? `${id}-help` : null;
  const errorId = `${id}-errors`;
  control.setAttribute("aria-describedby", [helpId, errorId].filter(Boolean).join(" "));
  if (required) control.setAttribute("aria-required", "true");
  // The label names the field exactly (assistive technology and tests find inputs by it); the
  // required mark sits beside it, the input itself says aria-required.
  const labelElement = h("label", { for: id, class: "ab-label" }, label);
  const mark = required ? h("span", { class: "ab-required", "aria-hidden": "true", title: "required" }, "*") : null;
  return h("div", { class: `ab-field${inline ? " ab-field--inline" : ""}`, "data-field": field },
    inline ? [control, labelElement]
      : [h("div", { class: "ab-label-row" }, labelElement, mark), h("div", { class: "ab-control" }, control, extra || null)],
    help ? h("p", { class: "ab-help", id: helpId }, help) : null,
    h("ul", { class: "ab-errors", id: errorId, "aria-live": "polite" }));
}

/**
 * A text input (or textarea with ``multiline``). ``onInput(text)`` on every keystroke;
 * ``picker`` (a function returning variable groups) adds the variable picker.
 */
export function textField({ field, label, value, onInput, multiline, help, required, picker, readOnly,
                            placeholder, type = "text", rows = 4, list }) {
  const control = multiline
    ? h("textarea", { rows, placeholder, readonly: readOnly, spellcheck: "false" })
    : h("input", { type, placeholder, readonly: readOnly, list, autocomplete: "off", spellcheck: "false" });
  control.value = value ?? "";
  control.addEventListener("input", () => onInput?.(control.value));
  const extra = picker && !readOnly ? pickerButton(control, label, picker) : null;
  return wrapper(field, label, control, { help, required, extra });
}

/** A select; ``choices`` are values or [value, label] pairs. */
export function selectField({ field, label, value, choices, onChange, help, required, readOnly, blank }) {
  const control = h("select", { disabled: readOnly },
    blank !== undefined ? h("option", { value: "" }, blank) : null,
    choices.map((choice) => {
      const [optionValue, optionLabel] = Array.isArray(choice) ? choice : [choice, choice];
      return h("option", { value: optionValue, selected: String(optionValue) === String(value ?? "") }, optionLabel);
    }));
  control.addEventListener("change", () => onChange?.(control.value));
  return wrapper(field, label, control, { help, required });
}

export function checkboxField({ field, label, checked, onChange, help, readOnly }) {
  const control = h("input", { type: "checkbox", checked, disabled: readOnly });
  control.addEventListener("change", () => onChange?.(control.checked));
  return wrapper(field, label, control, { help, inline: true });
}

/** A JSON value edited as text: applied when it parses, an error beside it when it does not. */
export function jsonField({ field, label, value, onChange, help, readOnly, rows = 6, picker }) {
  const element = textField({
    field, label, value: value === undefined ? "" : JSON.stringify(value, null, 2), multiline: true, rows, help,
    readOnly, picker,
    onInput: (text) => {
      const errors = element.querySelector(".ab-errors");
      if (!text.trim()) {
        errors.replaceChildren();
        onChange(undefined);
        return;
      }
      try {
        const parsed = JSON.parse(text);
        errors.replaceChildren();
        onChange(parsed);
      } catch (error) {
        errors.replaceChildren(h("li", {}, `not valid JSON yet: ${error.message}`));
      }
    },
  });
  return element;
}

/** Show ``errors`` ([{field, message}], fields relative to ``prefix``) beside the matching fields
 *  inside ``container``, and ``warnings`` the same way (they do not mark the field invalid);
 *  returns what no field took (the caller shows it at the top). */
export function showErrors(container, errors, warnings = [], prefix = "") {
  const all = [...container.querySelectorAll("[data-field]")];
  for (const element of all) {
    element.classList.remove("has-error", "has-warning");
    element.querySelector(":scope > .ab-errors")?.replaceChildren();
    element.querySelector("input, textarea, select")?.removeAttribute("aria-invalid");
  }
  // Only a field with its own list can show a problem beside it; one without is no place to put it.
  const fields = all.filter((element) => element.querySelector(":scope > .ab-errors"));
  const names = (element) => [element.dataset.field, element.dataset.fieldAlias].filter(Boolean);
  const covers = (name, path) => name === path || path.startsWith(`${name}.`) || path.startsWith(`${name}[`);
  const unplaced = [];
  const place = (problem, warning) => {
    const path = prefix ? `${prefix}${problem.field ? `.${problem.field}` : ""}` : problem.field;
    // The most specific field whose path (or alias) the problem's path starts with.
    const match = fields
      .map((element) => ({ element, name: names(element).filter((name) => covers(name, path))
        .sort((a, b) => b.length - a.length)[0] }))
      .filter((candidate) => candidate.name)
      .sort((a, b) => b.name.length - a.name.length)[0]?.element;
    if (!match) {
      unplaced.push({ ...problem, warning });
      return;
    }
    match.classList.add(warning ? "has-warning" : "has-error");
    match.querySelector(":scope > .ab-errors")?.append(h("li", { class: warning ? "ab-warning" : "" },
      warning ? `Check: ${problem.message}` : problem.message));
    if (!warning) match.querySelector("input, textarea, select")?.setAttribute("aria-invalid", "true");
  };
  for (const error of errors) place(error, false);
  for (const warning of warnings) place(warning, true);
  return unplaced;
}
