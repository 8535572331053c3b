// The variable picker of a templated field: a button, or typing "{{", lists what is in scope
// at that point (trigger data with sample values, the loop item inside its loop, earlier
// steps' outputs, the run) and inserts "{{ path }}" where the cursor is.

import { h } from "./dom.js";
import { closePopover, openPopover } from "./menus.js";

function sampleText(value) {
  if (value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

function insert(input, text, replaceBefore) {
  const start = (input.selectionStart ?? input.value.length) - replaceBefore;
  const end = input.selectionEnd ?? input.value.length;
  input.value = `${input.value.slice(0, start)}${text}${input.value.slice(end)}`;
  const caret = start + text.length;
  input.focus();
  input.setSelectionRange(caret, caret);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

function openList(anchor, input, groups, replaceBefore) {
  const filter = h("input", { type: "search", class: "ab-filter", placeholder: "Filter variables",
                              "aria-label": "Filter variables" });
  const options = [];
  const list = h("div", { class: "ab-menu-list ab-vars" }, groups.map((group) => h("div", {
    class: "ab-menu-group", role: "group", "aria-label": group.group,
  }, h("p", { class: "ab-menu-title", "aria-hidden": "true" }, group.group), group.items.map((item) => {
    const option = h("button", {
      type: "button", class: "ab-menu-item ab-var", "data-path": item.path,
      onclick: () => {
        closePopover();
        insert(input, `{{ ${item.path} }}`, replaceBefore);
      },
    }, h("code", {}, item.path), h("span", { class: "ab-var__sample" }, sampleText(item.sample)));
    options.push(option);
    return option;
  }))));
  filter.addEventListener("input", () => {
    const text = filter.value.trim().toLowerCase();
    for (const option of options) option.hidden = Boolean(text) && !option.dataset.path.toLowerCase().includes(text);
    for (const group of list.querySelectorAll(".ab-menu-group")) {
      group.hidden = ![...group.querySelectorAll(".ab-var")].some((option) => !option.hidden);
    }
  });
  const popover = openPopover(anchor, "Insert a variable", [filter, list]);
  popover.addEventListener("keydown", (event) => {
    if (!["ArrowDown", "ArrowUp"].includes(event.key)) return;
    const visible = [filter, ...options.filter((option) => !option.hidden && !option.closest("[hidden]"))];
    const at = visible.indexOf(document.activeElement);
    event.preventDefault();
    visible[(at + (event.key === "ArrowDown" ? 1 : -1) + visible.length) % visible.length].focus();
  });
  filter.focus();
}

/** A button that opens the picker for ``input``; typing "{{" in it opens the picker too. */
export function pickerButton(input, label, groups) {
  input.addEventListener("input", (event) => {
    if (event.isTrusted === false) return;
    const caret = input.selectionStart ?? 0;
    if (input.value.slice(caret - 2, caret) === "{{") openList(input, input, groups(), 2);
  });
  return h("button", {
    type: "button", class: "ab-picker", "aria-label": `Insert variable into ${label}`, title: "Insert a variable",
    "aria-haspopup": "dialog", onclick: (event) => openList(event.currentTarget, input, groups(), 0),
  }, "{ }");
}
