// What the flow's buttons do (one listener on the flow, reading each button's data-action), the
// arrow keys inside a card's tools, and the page's shortcuts (Ctrl+S, Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y).

import { duplicateStep, findStep, getLane, laneId, laneLabel, moveDown, moveUp, parseLaneId, removeStep } from "../state/tree.js";
import { announce, h } from "./dom.js";
import { openMoveDialog } from "./menus.js";

/** Arrow keys, Home and End move between a card's tools (one tab stop for them all). */
function onToolsKey(event) {
  const tools = event.target.closest?.(".ab-tools");
  if (!tools || !["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
  const buttons = [...tools.querySelectorAll("button")];
  const at = buttons.indexOf(event.target);
  const next = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: buttons.length - 1 }[event.key];
  event.preventDefault();
  buttons[(next + buttons.length) % buttons.length].focus();
}

function moveByOne(app, key, action) {
  const up = action === "move-up";
  const next = up ? moveUp(app.definition(), key) : moveDown(app.definition(), key);
  const found = findStep(next, key);
  app.commit(next, {
    message: `Moved ${key} ${up ? "up" : "down"}: now ${found.index + 1} of ${getLane(next, found.lane).length} in ${laneLabel(found.lane)}.`,
    focus: `${key}:${action}`,
  });
}

function duplicate(app, key) {
  const { definition: next, key: copy } = duplicateStep(app.definition(), key);
  app.state.selected = copy;
  app.commit(next, { message: `Duplicated ${key} as ${copy}.`, focus: `${copy}:select`, panel: true });
}

function remove(app, key) {
  const definition = app.definition();
  const found = findStep(definition, key);
  const lane = getLane(definition, found.lane);
  const neighbour = lane[found.index + 1] || lane[found.index - 1];
  if (app.state.selected === key) app.state.selected = neighbour?.key || "trigger";
  app.commit(removeStep(definition, key), {
    message: `Deleted ${key}. Undo brings it back.`,
    focus: neighbour ? `${neighbour.key}:select` : `add:${laneId(found.lane)}:0`,
    panel: true,
  });
  app.notices.show(`Deleted ${key}.`, "deleted", h("button", { type: "button", class: "button", onclick: () => {
    app.notices.clear("deleted");
    app.undo();
  } }, "Bring it back"));
}

function toggleLane(app, id) {
  if (app.state.collapsed.has(id)) app.state.collapsed.delete(id);
  else app.state.collapsed.add(id);
  app.render(`toggle:${id}`);
}

function onFlowClick(app, event) {
  const button = event.target.closest("[data-action]");
  if (!button || !app.flowHost.contains(button)) return;
  const { action, key } = button.dataset;
  if (button.getAttribute("aria-disabled") === "true") {
    announce(action === "move-up" ? `${key} is already first in its lane.` : `${key} is already last in its lane.`);
    return;
  }
  switch (action) {
    case "select":
      app.select(button.dataset.target);
      // From the keyboard (a click with no pointer), go on into the form: the panel comes next.
      if (event.detail === 0) app.panel.focusForm();
      break;
    case "add":
      app.openInsert(button, parseLaneId(button.dataset.lane), Number(button.dataset.index));
      break;
    case "move-up":
    case "move-down":
      moveByOne(app, key, action);
      break;
    case "move-to":
      openMoveDialog(button, app.definition(), key, (lane, index) => app.move(key, lane, index));
      break;
    case "duplicate":
      duplicate(app, key);
      break;
    case "delete":
      remove(app, key);
      break;
    case "toggle-lane":
      toggleLane(app, button.dataset.lane);
      break;
    default:
      break;
  }
}

function onShortcut(app, event) {
  const typing = event.target.closest?.("input, textarea, select, [contenteditable]");
  const mod = event.ctrlKey || event.metaKey;
  const letter = event.key.toLowerCase();
  if (mod && letter === "s") {
    event.preventDefault();
    app.drafts.save();
  } else if (mod && !typing && letter === "z") {
    event.preventDefault();
    if (event.shiftKey) app.redo();
    else app.undo();
  } else if (mod && !typing && letter === "y") {
    event.preventDefault();
    app.redo();
  }
}

/** Listen to the flow's buttons and the page's shortcuts for ``app``. */
export function listenToFlow(app) {
  app.flowHost.addEventListener("click", (event) => onFlowClick(app, event));
  app.flowHost.addEventListener("keydown", onToolsKey);
  document.addEventListener("keydown", (event) => onShortcut(app, event));
}
