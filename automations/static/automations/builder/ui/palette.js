// The palette of steps to add: the registered actions by family, then the other step types of the
// server's catalogue (a host's own among them); each entry a button (add after the selected step)
// and a drag source (see dnd.js).

import { stepTypes } from "../state/step_types.js";
import { h } from "./dom.js";
import { actionIcon, icon, typeIcon } from "./icons.js";

const FAMILY_TITLES = { communication: "Communication", billing: "Billing", records: "Records" };

/** The palette's entries, grouped: [{title, items: [{type, action, label, description, icon}]}]. */
export function paletteGroups(actions) {
  const families = {};
  for (const action of Object.values(actions)) {
    const title = FAMILY_TITLES[action.family] || "Your actions";
    (families[title] = families[title] || []).push({
      type: "action", action: action.action, label: action.label || action.action,
      description: action.description || "", icon: actionIcon(action.action),
    });
  }
  const order = ["Communication", "Billing", "Records", "Your actions"];
  return [
    ...order.filter((title) => families[title]).map((title) => ({ title, items: families[title] })),
    // An action step is offered as each action above.
    { title: "Flow", items: stepTypes().filter((entry) => entry.type !== "action").map((entry) =>
      ({ type: entry.type, label: entry.label, description: entry.description || "", icon: typeIcon(entry.type) })) },
  ];
}

/** The palette's contents in ``host``: ``onChoose(item)`` when an entry is chosen. */
export function renderPalette(host, actions, canEdit, onChoose) {
  if (!canEdit) {
    host.replaceChildren(h("p", { class: "ab-help" }, "You may view this automation; changing it needs the change permission."));
    return;
  }
  host.replaceChildren(
    h("h2", { class: "ab-palette__title" }, "Add steps"),
    h("p", { class: "ab-help" }, "Drag into the flow, or choose one to add it after the selected step."),
    ...paletteGroups(actions).map((group) => h("section", { class: "ab-palette-group" },
      h("h3", {}, group.title),
      h("ul", { class: "ab-palette-list" }, group.items.map((item) => h("li", {
        class: "ab-palette-item", dataset: { type: item.type, action: item.action || "" },
      }, h("button", { type: "button", class: "ab-palette-button", title: item.description,
                       onclick: () => onChoose(item) },
        icon(item.icon), h("span", {}, item.label))))))));
}
