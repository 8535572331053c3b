// Pop-ups anchored to a button: the "Add step" menu (step types and every registered action)
// and the "Move to…" dialog. Escape or a click elsewhere closes them and focus returns to the
// button that opened them.

import { destinations, findStep, getLane, laneId, parseLaneId, sameLane } from "../state/tree.js";
import { clear, h, uid } from "./dom.js";
import { icon } from "./icons.js";
import { paletteGroups } from "./palette.js";

let open = null;

export function closePopover() {
  if (!open) return;
  const { element, anchor, onOutside, onKey } = open;
  open = null;
  document.removeEventListener("mousedown", onOutside, true);
  element.removeEventListener("keydown", onKey);
  element.remove();
  if (anchor && document.contains(anchor)) anchor.focus();
}

function place(element, anchor) {
  const box = anchor.getBoundingClientRect();
  element.style.top = `${window.scrollY + box.bottom + 4}px`;
  const left = Math.min(window.scrollX + box.left, window.scrollX + document.documentElement.clientWidth - 340);
  element.style.left = `${Math.max(8, left)}px`;
}

/** Show ``content`` in a dialog pop-up under ``anchor``; returns the pop-up element. */
export function openPopover(anchor, label, content) {
  closePopover();
  const element = h("div", { class: "ab-popover", role: "dialog", "aria-label": label }, content);
  document.body.append(element);
  place(element, anchor);
  const onOutside = (event) => {
    if (!element.contains(event.target)) closePopover();
  };
  const onKey = (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      closePopover();
    }
  };
  document.addEventListener("mousedown", onOutside, true);
  element.addEventListener("keydown", onKey);
  open = { element, anchor, onOutside, onKey };
  return element;
}

function arrowKeys(container, selector) {
  container.addEventListener("keydown", (event) => {
    if (!["ArrowDown", "ArrowUp", "Home", "End"].includes(event.key)) return;
    const items = [...container.querySelectorAll(selector)].filter((item) => !item.hidden && !item.closest("[hidden]"));
    if (!items.length) return;
    event.preventDefault();
    const at = items.indexOf(document.activeElement);
    const next = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[event.key];
    items[(next + items.length) % items.length].focus();
  });
}

/** The "Add step" menu: choose a step type or an action; ``onChoose({type, action})``. */
export function openInsertMenu(anchor, actions, where, onChoose) {
  const filter = h("input", { type: "search", class: "ab-filter", placeholder: "Filter steps",
                              "aria-label": "Filter steps" });
  const groups = paletteGroups(actions).map((group) => {
    const buttons = group.items.map((item) => h("button", {
      type: "button", class: "ab-menu-item", "data-label": `${item.label} ${item.description}`.toLowerCase(),
      onclick: () => {
        closePopover();
        onChoose({ type: item.type, action: item.action });
      },
    }, icon(item.icon), h("span", { class: "ab-menu-item__label" }, item.label),
       h("span", { class: "ab-menu-item__description" }, item.description)));
    return h("div", { class: "ab-menu-group", role: "group", "aria-label": group.title },
      h("p", { class: "ab-menu-title", "aria-hidden": "true" }, group.title), buttons);
  });
  const empty = h("p", { class: "ab-help", hidden: true }, "No step matches.");
  const list = h("div", { class: "ab-menu-list" }, groups, empty);
  const visible = () => [...list.querySelectorAll(".ab-menu-item")].filter((button) => !button.hidden);
  filter.addEventListener("input", () => {
    const text = filter.value.trim().toLowerCase();
    for (const button of list.querySelectorAll(".ab-menu-item")) button.hidden = Boolean(text) && !button.dataset.label.includes(text);
    for (const group of list.querySelectorAll(".ab-menu-group")) {
      group.hidden = ![...group.querySelectorAll(".ab-menu-item")].some((button) => !button.hidden);
    }
    empty.hidden = visible().length > 0;
  });
  filter.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      visible()[0]?.click();
    }
  });
  const element = openPopover(anchor, "Add a step", [h("p", { class: "ab-popover-title" }, `Add a step ${where}`), filter, list]);
  arrowKeys(element, ".ab-menu-item, .ab-filter");
  filter.focus();
}

/** "Move to…": a lane and a position; ``onMove(lane, index)``. */
export function openMoveDialog(anchor, definition, key, onMove) {
  const lanes = destinations(definition, key);
  const current = findStep(definition, key);
  const laneField = uid("lane");
  const positionField = uid("position");
  const laneSelect = h("select", { id: laneField },
    lanes.map((item) => h("option", { value: laneId(item.lane), selected: sameLane(item.lane, current.lane) }, item.label)));
  const positionSelect = h("select", { id: positionField });
  const fillPositions = () => {
    const chosen = lanes.find((item) => laneId(item.lane) === laneSelect.value);
    // The lane as it will be once the step has left its place: positions read "after <key>".
    const others = getLane(definition, chosen.lane).map((step) => step.key).filter((other) => other !== key);
    clear(positionSelect);
    for (let index = 0; index < chosen.positions; index += 1) {
      const where = index === 0 ? (others.length ? `first, before ${others[0]}` : "first") : `after ${others[index - 1]}`;
      positionSelect.append(h("option", {
        value: index, selected: sameLane(chosen.lane, current.lane) ? index === current.index : index === chosen.positions - 1,
      }, `${index + 1} — ${where}`));
    }
  };
  laneSelect.addEventListener("change", fillPositions);
  fillPositions();
  const form = h("form", { class: "ab-move-form" },
    h("p", { class: "ab-popover-title" }, `Move ${key} to`),
    h("label", { for: laneField }, "Lane"), laneSelect,
    h("label", { for: positionField }, "Position"), positionSelect,
    h("div", { class: "ab-popover-buttons" },
      h("button", { type: "submit", class: "button default" }, "Move"),
      h("button", { type: "button", class: "ab-link-button", onclick: closePopover }, "Cancel")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const lane = parseLaneId(laneSelect.value);
    const index = Number(positionSelect.value);
    closePopover();
    onMove(lane, index);
  });
  openPopover(anchor, `Move ${key}`, form);
  laneSelect.focus();
}
