// Form fields of the side panel: a label naming the field, help text, the server's errors
// beside it (aria-describedby, aria-invalid), and the variable picker on templated fields.
// Every field carries data-field (its path as the server names it) so errors find it.

import { h, uid } from "./dom.js";
import { pickerButton } from "./picker.js";

/** The definition's own name for a field, small, beside its label (not part of it): for engineers. */
function keyMark(code) {
  return code ? h("code", { class: "ab-key", title: "as the definition names it" }, code) : null;
}

function wrapper(field, label, control, { help, required, extra, inline, code } = {}) {
  const id = control.id || uid("f");
  control.id = id;
  const helpId = help ? `${id}-help` : null;
  const errorId = `${id}-errors`;
  control.setAttribute("aria-describedby", [helpId, errorId].filter(Boolean).join(" "));
  if (required) control.setAttribute("aria-required", "true");
  // The label names the field exactly (assistive technology and tests find inputs by it); the
  // required mark sits beside it, the input itself says aria-required.
  // A label in words reads as words; a label that is the key itself (to, due_in) reads as code.
  const words = code || !/^[a-z][a-z0-9_.]*$/.test(label);
  const labelElement = h("label", { for: id, class: `ab-label${words ? " ab-label--words" : ""}` }, label);
  const mark = required ? h("span", { class: "ab-required", "aria-hidden": "true", title: "required" }, "*") : null;
  return h("div", { class: `ab-field${inline ? " ab-field--inline" : ""}`, "data-field": field },
    inline ? [control, h("span", { class: "ab-inline-text" }, labelElement, keyMark(code))]
      : [h("div", { class: "ab-label-row" }, labelElement, mark, keyMark(code)),
         h("div", { class: "ab-control" }, control, extra || null)],
    help ? h("p", { class: "ab-help", id: helpId }, help) : null,
    h("ul", { class: "ab-errors", id: errorId, "aria-live": "polite" }));
}

/**
 * A text input (or textarea with ``multiline``). ``onInput(text)`` on every keystroke;
 * ``picker`` (a function returning variable groups) adds the variable picker.
 */
export function textField({ field, label, value, onInput, multiline, help, required, picker, readOnly,
                            placeholder, type = "text", rows = 4, list, code }) {
  const control = multiline
    ? h("textarea", { rows, placeholder, readonly: readOnly, spellcheck: "false" })
    : h("input", { type, placeholder, readonly: readOnly, list, autocomplete: "off", spellcheck: "false" });
  control.value = value ?? "";
  control.addEventListener("input", () => onInput?.(control.value));
  const extra = picker && !readOnly ? pickerButton(control, label, picker) : null;
  return wrapper(field, label, control, { help, required, extra, code });
}

/** A select; ``choices`` are values or [value, label] pairs. */
export function selectField({ field, label, value, choices, onChange, help, required, readOnly, blank, code }) {
  const control = h("select", { disabled: readOnly },
    blank !== undefined ? h("option", { value: "" }, blank) : null,
    choices.map((choice) => {
      const [optionValue, optionLabel] = Array.isArray(choice) ? choice : [choice, choice];
      return h("option", { value: optionValue, selected: String(optionValue) === String(value ?? "") }, optionLabel);
    }));
  control.addEventListener("change", () => onChange?.(control.value));
  return wrapper(field, label, control, { help, required, code });
}

export function checkboxField({ field, label, checked, onChange, help, readOnly, code }) {
  const control = h("input", { type: "checkbox", checked, disabled: readOnly });
  control.addEventListener("change", () => onChange?.(control.checked));
  return wrapper(field, label, control, { help, inline: true, code });
}

/** A checkbox per event type of the catalogue (``eventTypes``), named by what it means with its
 *  key beside it; ``onToggle(type, on)``. */
export function eventCheckboxes({ field, eventTypes, chosen, readOnly, onToggle }) {
  return Object.values(eventTypes).map((type) => checkboxField({
    field: `${field}.${type.type}`, label: type.description || type.type, code: type.description ? type.type : undefined,
    checked: chosen.has(type.type), readOnly, onChange: (on) => onToggle(type.type, on) }));
}

/** A legend naming a group of fields in words, with the definition's own name beside it. */
export function legend(label, code) {
  return h("legend", {}, label, code ? " " : null, keyMark(code));
}

/** A JSON value edited as text: applied when it parses, an error beside it when it does not. */
export function jsonField({ field, label, value, onChange, help, readOnly, rows = 6, picker, code }) {
  const element = textField({
    field, label, value: value === undefined ? "" : JSON.stringify(value, null, 2), multiline: true, rows, help,
    readOnly, picker, code,
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
