// The variable picker of a templated field: what is in scope at that point (trigger data with
// sample values, the loop item inside its loop, earlier steps' outputs, the run).
//
// Two ways in: the "{ }" button opens a dialog with a filter; typing "{{" in the field opens a
// list of suggestions under it while the cursor stays in the field — what follows the braces
// filters it, arrows choose, Enter or Tab inserts "{{ path }}", Escape (or typing on) closes it.
// A field that may be missing says "optional" (and why, in its title) and goes in with a default,
// "{{ customer.metadata.account_manager | default("") }}", as the server requires.

import { h, uid } from "./dom.js";
import { closePopover, openPopover } from "./menus.js";

function sampleText(value) {
  if (value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

/** What choosing ``item`` inserts. */
function insertText(item) {
  return item.insert || `{{ ${item.path} }}`;
}

/** The path, its sample, and "optional" when it may be missing. */
function itemLabel(item) {
  return [h("code", {}, item.path),
    item.optional ? h("span", { class: "ab-var__optional", title: `May be missing: ${item.why}; inserted with a default` }, "optional") : null,
    h("span", { class: "ab-var__sample" }, sampleText(item.sample))];
}

/** Replace ``input``'s text from ``start`` to the cursor with ``text``, as if typed. */
function insertAt(input, start, text) {
  const end = input.selectionEnd ?? input.value.length;
  input.value = `${input.value.slice(0, start)}${text}${input.value.slice(end)}`;
  const caret = start + text.length;
  input.focus();
  input.setSelectionRange(caret, caret);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

function openDialog(anchor, input, groups) {
  const filter = h("input", { type: "search", class: "ab-filter", placeholder: "Filter variables",
                              "aria-label": "Filter variables" });
  const options = [];
  const empty = h("p", { class: "ab-help", hidden: true }, "No variable matches.");
  const list = h("div", { class: "ab-menu-list ab-vars" }, groups.map((group) => h("div", {
    class: "ab-menu-group", role: "group", "aria-label": group.group,
  }, h("p", { class: "ab-menu-title", "aria-hidden": "true" }, group.group), group.items.map((item) => {
    const option = h("button", {
      type: "button", class: "ab-menu-item ab-var", "data-path": item.path,
      title: item.optional ? `${item.path} (optional: ${item.why})` : item.path,
      onclick: () => {
        closePopover();
        const at = input.selectionStart ?? input.value.length;
        insertAt(input, at, insertText(item));
      },
    }, ...itemLabel(item));
    options.push(option);
    return option;
  }))), empty);
  const visible = () => options.filter((option) => !option.hidden);
  filter.addEventListener("input", () => {
    const text = filter.value.trim().toLowerCase();
    for (const option of options) option.hidden = Boolean(text) && !option.dataset.path.toLowerCase().includes(text);
    for (const group of list.querySelectorAll(".ab-menu-group")) {
      group.hidden = ![...group.querySelectorAll(".ab-var")].some((option) => !option.hidden);
    }
    empty.hidden = visible().length > 0;
  });
  const popover = openPopover(anchor, "Insert a variable", [filter, list]);
  popover.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target === filter) {
      event.preventDefault();
      visible()[0]?.click();
      return;
    }
    if (!["ArrowDown", "ArrowUp"].includes(event.key)) return;
    const stops = [filter, ...visible()];
    const at = stops.indexOf(document.activeElement);
    event.preventDefault();
    stops[(at + (event.key === "ArrowDown" ? 1 : -1) + stops.length) % stops.length].focus();
  });
  filter.focus();
}

let suggestion = null;
let dismissed = null; // {input, start}: Escape closed the list for the braces typed there

function closeSuggestions() {
  if (!suggestion) return;
  const { input, element } = suggestion;
  suggestion = null;
  element.remove();
  input.removeAttribute("aria-activedescendant");
  input.setAttribute("aria-expanded", "false");
}

function placeUnder(element, input) {
  const box = input.getBoundingClientRect();
  element.style.top = `${window.scrollY + box.bottom + 2}px`;
  element.style.left = `${window.scrollX + box.left}px`;
  element.style.width = `${Math.max(box.width, 260)}px`;
}

/** The suggestions for what is typed after the last "{{" before the cursor (null: none open). */
function braceStart(input) {
  const caret = input.selectionStart ?? 0;
  const before = input.value.slice(0, caret);
  const start = before.lastIndexOf("{{");
  if (start < 0 || before.slice(start).includes("}}")) return null;
  return start;
}

function showSuggestions(input, groups) {
  const start = braceStart(input);
  if (start === null) {
    closeSuggestions();
    return;
  }
  const typed = input.value.slice(start + 2, input.selectionStart ?? 0).trim().toLowerCase();
  const items = groups.flatMap((group) => group.items).filter((item) => item.path.toLowerCase().includes(typed));
  if (!suggestion || suggestion.input !== input) {
    closeSuggestions();
    const element = h("ul", { class: "ab-suggestions", role: "listbox", id: uid("vars"), "aria-label": "Variables" });
    document.body.append(element);
    suggestion = { input, element, active: 0, items: [], start };
    input.setAttribute("aria-controls", element.id);
    input.setAttribute("aria-expanded", "true");
    input.setAttribute("aria-autocomplete", "list");
  }
  suggestion.start = start;
  suggestion.items = items.slice(0, 50);
  suggestion.active = Math.min(suggestion.active, Math.max(suggestion.items.length - 1, 0));
  drawSuggestions();
  placeUnder(suggestion.element, input);
}

function drawSuggestions() {
  const { element, items, active, input } = suggestion;
  element.replaceChildren(...(items.length ? items.map((item, index) => h("li", {
    role: "option", id: `${element.id}-${index}`, class: "ab-suggestion", "aria-selected": index === active ? "true" : "false",
    "data-path": item.path,
    // mousedown, not click: the field keeps its focus (and its cursor) until the choice is made
    onmousedown: (event) => {
      event.preventDefault();
      suggestion.active = index;
      chooseSuggestion();
    },
  }, ...itemLabel(item)))
    : [h("li", { class: "ab-suggestion ab-suggestion--none" }, "No variable matches; keep typing, or Escape.")]));
  if (items.length) {
    input.setAttribute("aria-activedescendant", `${element.id}-${active}`);
    element.children[active]?.scrollIntoView({ block: "nearest" });
  }
}

function chooseSuggestion() {
  const { input, items, active, start } = suggestion;
  const item = items[active];
  closeSuggestions();
  if (item) insertAt(input, start, insertText(item));
}

function onSuggestionKey(event) {
  if (!suggestion || suggestion.input !== event.target) return;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    const size = suggestion.items.length || 1;
    suggestion.active = (suggestion.active + (event.key === "ArrowDown" ? 1 : -1) + size) % size;
    drawSuggestions();
  } else if ((event.key === "Enter" || event.key === "Tab") && suggestion.items.length) {
    event.preventDefault();
    chooseSuggestion();
  } else if (event.key === "Escape") {
    event.preventDefault();
    dismissed = { input: suggestion.input, start: suggestion.start };
    closeSuggestions();
  }
}

/** A button that opens the picker for ``input``; typing "{{" in the field suggests variables too. */
export function pickerButton(input, label, groups) {
  input.addEventListener("input", (event) => {
    if (event.isTrusted === false) return; // our own insertions
    const start = braceStart(input);
    if (dismissed?.input === input && dismissed.start === start) return;
    if (suggestion?.input === input || start !== null) showSuggestions(input, groups());
  });
  input.addEventListener("keydown", onSuggestionKey);
  input.addEventListener("blur", closeSuggestions);
  return h("button", {
    type: "button", class: "ab-picker", "aria-label": `Insert variable into ${label}`, title: "Insert a variable",
    "aria-haspopup": "dialog", onclick: (event) => openDialog(event.currentTarget, input, groups()),
  }, "{ }");
}
