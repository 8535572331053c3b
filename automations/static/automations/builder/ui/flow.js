// The flow: trigger card, entry-conditions card, then the steps in order, with branch, loop and
// fallback lanes nested to any depth. One render from state to DOM; clicks reach the builder
// through ``data-action`` attributes (one listener on the root, see builder.js).
//
// view.mode: "edit" (tools shown when view.canEdit), "run" (statuses of an execution) or
// "view". view.decorate(key) may return {status, label, detail} for a card (run view, test path).
// view.eventTypes and view.words: events and data fields in words on the cards. view.figures(key)
// may return a line of outcome figures for a step's card (the builder's figures bar).

import { lanesOf, laneId, laneLabel } from "../state/tree.js";
import { laneName, stepType } from "../state/step_types.js";
import { stepTypeLabel, summarizeConditions, summarizeStep, summarizeTrigger } from "../state/summary.js";
import { h } from "./dom.js";
import { icon, iconName, triggerIcon } from "./icons.js";

/** A lane's heading on its card: "For each invoice" for a lane that runs per item, "If it fails"
 *  for an action's fallback, else the lane's name from the catalogue ("Then"). */
function laneHead(step, slot) {
  const variable = stepType(step.type)?.scope?.lane_variable;
  if (variable) return `For each ${step[variable.field] || variable.default}`;
  return step.type === "action" && slot === "fallback" ? "If it fails" : laneName(slot, step.type);
}

function toolButton(action, key, label, iconKey, options = {}) {
  return h("button", {
    type: "button", class: `ab-tool ab-tool--${action}`, "data-action": action, "data-key": key,
    // One tab stop per card's tools (the first); arrow keys move between them (builder.js).
    tabindex: action === "move-up" ? "0" : "-1",
    "data-focus-id": `${key}:${action}`, "aria-label": label, title: options.title || label,
    "aria-disabled": options.disabled ? "true" : undefined,
    "aria-haspopup": options.popup ? "dialog" : undefined,
  }, icon(iconKey));
}

function problemBadge(count, target, warnings = 0) {
  if (count) {
    return h("span", { class: "ab-badge ab-badge--error", "data-problems-for": target },
      `${count} problem${count === 1 ? "" : "s"}`);
  }
  if (warnings) {
    return h("span", { class: "ab-badge ab-badge--warning", title: "Worth a look; it does not stop saving" },
      `${warnings} to check`);
  }
  return null;
}

function statusLine(decoration) {
  if (!decoration) return null;
  return h("p", { class: `ab-status ab-status--${decoration.status}` },
    h("span", { class: "ab-status__label" }, decoration.label),
    decoration.detail ? h("span", { class: "ab-status__detail" }, ` · ${decoration.detail}`) : null);
}

function figuresLine(text) {
  return text ? h("p", { class: "ab-figures" }, text) : null;
}

function addButton(lane, index, view, describe) {
  if (view.mode !== "edit" || !view.canEdit) return null;
  return h("li", { class: "ab-insert" },
    h("button", {
      type: "button", class: "ab-add", "data-action": "add", "data-lane": laneId(lane), "data-index": index,
      "data-focus-id": `add:${laneId(lane)}:${index}`, "aria-label": "Add step", title: describe,
      "aria-haspopup": "dialog",
    }, icon("plus"), h("span", { class: "ab-add__text" }, "Add step")));
}

function renderLane(lane, steps, view, depth, ownerType) {
  const label = laneLabel(lane, ownerType);
  const list = h("ol", { class: "ab-lane", "data-lane": laneId(lane), "aria-label": label });
  steps.forEach((step, index) => {
    const before = index === 0 ? `Add a step at the start of ${label}` : `Add a step after ${steps[index - 1].key}`;
    const add = addButton(lane, index, view, before);
    if (add) list.append(add);
    list.append(renderStep(step, view, depth));
  });
  const after = steps.length ? `Add a step at the end of ${label}` : `Add the first step of ${label}`;
  const last = addButton(lane, steps.length, view, after);
  if (last) list.append(last);
  if (!steps.length && !last) list.append(h("li", { class: "ab-empty" }, "No steps"));
  return list;
}

function renderLanes(step, view, depth) {
  const lanes = lanesOf(step);
  if (!lanes.length) return null;
  const wrapper = h("div", { class: "ab-lanes" });
  for (const slot of lanes) {
    const lane = { owner: step.key, slot };
    const steps = step[slot] || [];
    // An action's fallback lane shows once it has steps; while a card is dragged, empty ones
    // appear as drop targets (CSS, .is-dragging).
    const latent = slot === "fallback" && !steps.length;
    if (latent && (view.mode !== "edit" || !view.canEdit)) continue;
    const id = `${step.key}.${slot}`;
    const collapsed = view.collapsed?.has(id);
    const title = laneHead(step, slot);
    const decoration = view.laneDecoration?.(step.key, slot);
    wrapper.append(h("section", {
      class: `ab-lane-group ab-lane-group--${slot}${latent ? " ab-lane-group--latent" : ""}`
        + `${decoration ? ` ab-lane-group--${decoration}` : ""}`,
      "aria-label": laneLabel(lane, step.type),
    },
      h("div", { class: "ab-lane-head" },
        h("button", {
          type: "button", class: "ab-collapse", "data-action": "toggle-lane", "data-lane": id,
          "data-focus-id": `toggle:${id}`, "aria-expanded": collapsed ? "false" : "true",
          "aria-label": `${collapsed ? "Expand" : "Collapse"} ${laneLabel(lane, step.type)}`,
        }, icon("chevron")),
        h("span", { class: "ab-lane-title" }, title),
        collapsed ? h("span", { class: "ab-lane-hidden" }, ` (${steps.length} step${steps.length === 1 ? "" : "s"} hidden)`) : null,
        decoration === "taken" ? h("span", { class: "ab-lane-taken" }, " · taken") : null),
      collapsed ? null : renderLane(lane, steps, view, depth + 1, step.type)));
  }
  return wrapper;
}

function renderStep(step, view, depth) {
  const key = step.key;
  const selected = view.selected === key;
  const problems = view.problemCount?.(key) || 0;
  const decoration = view.decorate?.(key);
  const editing = view.mode === "edit" && view.canEdit;
  const position = view.positionOf?.(key) || {};
  const headingId = `ab-card-${key}`;
  const tools = editing ? h("div", { class: "ab-tools", role: "toolbar", "aria-label": `Tools for ${key}` },
    toolButton("move-up", key, "Move up", "up", { disabled: position.first }),
    toolButton("move-down", key, "Move down", "down", { disabled: position.last }),
    toolButton("move-to", key, "Move to…", "moveto", { popup: true, title: "Move to another lane or position" }),
    toolButton("duplicate", key, "Duplicate step", "copy"),
    toolButton("delete", key, "Delete step", "trash")) : null;
  const card = h("article", {
    class: ["ab-card", `ab-card--${step.type}`, selected ? "is-selected" : "", problems ? "has-problems" : "",
            decoration ? `ab-card--${decoration.status}` : ""].filter(Boolean).join(" "),
    "aria-labelledby": headingId,
  },
    h("div", { class: "ab-card-head" },
      editing ? h("button", {
        type: "button", class: "ab-drag", "aria-label": `Drag ${key}`, title: "Drag to move (or use Move up, Move down, Move to…)",
        "data-focus-id": `${key}:drag`, tabindex: "-1",
      }, icon("drag")) : null,
      icon(iconName(step)),
      h("button", {
        type: "button", class: "ab-select", id: headingId, "data-action": "select", "data-target": key,
        "data-focus-id": `${key}:select`, "aria-pressed": selected ? "true" : "false",
      },
        h("span", { class: "ab-card-type" }, stepTypeLabel(step, view.actions)),
        h("span", { class: "ab-card-key" }, key),
        h("span", { class: "ab-card-summary" }, summarizeStep(step, view.actions, view.eventTypes, { words: view.words }))),
      problemBadge(problems, key, view.warningCount?.(key) || 0),
      tools),
    statusLine(decoration),
    figuresLine(view.figures?.(key)),
    renderLanes(step, view, depth));
  return h("li", { class: `ab-step ab-step--${step.type}`, "data-step-key": key }, card);
}

function fixedCard(target, title, summary, iconKey, view) {
  const selected = view.selected === target;
  const problems = view.problemCount?.(target) || 0;
  const decoration = view.decorate?.(target);
  return h("article", {
    class: ["ab-card", `ab-card--${target}`, selected ? "is-selected" : "", problems ? "has-problems" : "",
            decoration ? `ab-card--${decoration.status}` : ""].filter(Boolean).join(" "),
    "data-target": target, "aria-labelledby": `ab-card-${target}`,
  },
    h("div", { class: "ab-card-head" },
      icon(iconKey),
      h("button", {
        type: "button", class: "ab-select", id: `ab-card-${target}`, "data-action": "select", "data-target": target,
        "data-focus-id": `${target}:select`, "aria-pressed": selected ? "true" : "false",
      },
        h("span", { class: "ab-card-type" }, title),
        h("span", { class: "ab-card-summary" }, summary)),
      problemBadge(problems, target, view.warningCount?.(target) || 0)),
    statusLine(decoration));
}

/** The whole flow of ``definition`` as a DOM tree. */
export function renderFlow(definition, view) {
  const root = h("div", { class: `ab-flow ab-flow--${view.mode}` });
  root.append(fixedCard("trigger", "Trigger", summarizeTrigger(definition.trigger, view.eventTypes),
                           triggerIcon(definition.trigger?.type), view));
  root.append(fixedCard("conditions", "Entry conditions", summarizeConditions(definition.conditions, { words: view.words }),
    "conditions", view));
  const main = { owner: null, slot: "steps" };
  const lane = renderLane(main, definition.steps || [], view, 0);
  lane.classList.add("ab-lane--main");
  root.append(h("section", { class: "ab-main", "aria-label": "Steps" }, lane));
  root.append(h("div", { class: "ab-end", "aria-hidden": "true" }, icon("stop"), "End"));
  return root;
}
