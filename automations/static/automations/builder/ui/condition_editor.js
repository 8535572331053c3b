// The condition builder: field / operator / value rows in AND / OR groups, nested. Fields are
// offered from the data in scope (the trigger's sample payload, loop items, earlier outputs);
// operators are filtered by the field's type; enum fields get a select of their values.

import {
  addGroup, addLeaf, asGroup, formatValue, getAt, groupKind, isGroup, normalize, operatorsFor, parseValue, pathOf,
  removeAt, setKind, UNARY, updateAt,
} from "../state/conditions.js";
import { OPERATOR_LABELS } from "../state/summary.js";
import { h, uid } from "./dom.js";

/**
 * ``fieldInfo(path)`` -> {type, choices}; ``paths`` the field paths to offer; ``onChange(condition,
 * group)`` with the new condition (undefined when emptied) and an undo group for typing;
 * ``empty`` what an empty condition means here.
 */
export function conditionEditor({ condition, prefix, onChange, readOnly, fieldInfo, paths, title,
                                  empty = "No conditions: always true." }) {
  let root = asGroup(condition);
  // A condition stored as one bare leaf ({field, operator, value}) is edited as a group of one;
  // the server names its fields without the group ("if.field"), so the row answers to both.
  const bare = Boolean(condition) && !isGroup(condition);
  const listId = uid("fields");
  const container = h("div", { class: "ab-conditions", "data-field": prefix || "conditions" });
  const datalist = h("datalist", { id: listId }, paths.map((path) => h("option", { value: path })));

  const fieldPath = (position, name) => [prefix, pathOf(root, position, name)].filter(Boolean).join(".");
  const barePath = (position, name) => (bare && position.length === 1 && position[0] === 0
    ? [prefix, name].filter(Boolean).join(".") : undefined);

  const commit = (next, group, structural) => {
    root = next;
    onChange(normalize(root), group);
    if (structural) draw();
  };

  const leafRow = (leaf, position) => {
    const id = uid("leaf");
    const info = fieldInfo(leaf.field || "");
    const operators = operatorsFor(info.type);
    const fieldInput = h("input", { id: `${id}-field`, list: listId, autocomplete: "off", spellcheck: "false",
                                   readonly: readOnly, "data-focus-id": `cond:${position}:field` });
    fieldInput.value = leaf.field || "";
    fieldInput.addEventListener("input", () => commit(updateAt(root, position, (node) => ({ ...node, field: fieldInput.value })),
      `cond:${position}:field`, false));
    // The operators and value widget depend on the field's type: redraw once the field is chosen.
    fieldInput.addEventListener("change", () => {
      // A value chosen from the old field's list ("open", an invoice's status) means nothing for
      // another field: kept, it would make a condition that never holds, and look chosen.
      const now = fieldInfo(fieldInput.value);
      const picked = info.type === "enum" && (info.choices || []).includes(leaf.value);
      const fits = now.type === "enum" ? (now.choices || []).includes(leaf.value) : !picked;
      if (fieldInput.value !== leaf.field && "value" in leaf && !fits) {
        commit(updateAt(root, position, (node) => ({ ...node, value: "" })), null, false);
      }
      draw(`cond:${position}:operator`);
    });
    const operatorSelect = h("select", { id: `${id}-operator`, disabled: readOnly, "data-focus-id": `cond:${position}:operator` },
      [...new Set([...operators, ...(operators.includes(leaf.operator) ? [] : [leaf.operator])])].map((operator) =>
        h("option", { value: operator, selected: operator === leaf.operator }, OPERATOR_LABELS[operator] || operator)));
    operatorSelect.addEventListener("change", () => commit(updateAt(root, position, (node) => {
      const next = { ...node, operator: operatorSelect.value };
      if (UNARY.includes(next.operator)) delete next.value;
      else if (!("value" in next)) next.value = "";
      else next.value = parseValue(formatValue(next.value), info.type, next.operator);
      return next;
    }), null, true));
    let valueControl = null;
    if (!UNARY.includes(leaf.operator)) {
      if (info.type === "enum" && !["in", "not_in"].includes(leaf.operator)) {
        valueControl = h("select", { id: `${id}-value`, disabled: readOnly, "data-focus-id": `cond:${position}:value` },
          h("option", { value: "" }, "choose…"),
          info.choices.map((choice) => h("option", { value: choice, selected: choice === leaf.value }, choice)));
        valueControl.addEventListener("change", () => commit(updateAt(root, position, (node) => ({ ...node, value: valueControl.value })), null, false));
      } else {
        valueControl = h("input", { id: `${id}-value`, readonly: readOnly, autocomplete: "off",
                                    "data-focus-id": `cond:${position}:value`,
                                    placeholder: ["in", "not_in"].includes(leaf.operator) ? "a, b, c" : "" });
        valueControl.value = formatValue(leaf.value);
        valueControl.addEventListener("input", () => commit(updateAt(root, position, (node) => ({
          ...node, value: parseValue(valueControl.value, info.type, node.operator) })), `cond:${position}:value`, false));
      }
    }
    const cell = (name, control, labelText) => h("div", {
      class: `ab-leaf__cell ab-leaf__${name}`, "data-field": fieldPath(position, name),
      "data-field-alias": barePath(position, name),
    },
      h("label", { for: control.id, class: "ab-label" }, labelText), control,
      h("ul", { class: "ab-errors", "aria-live": "polite" }));
    return h("div", { class: "ab-leaf", role: "group", "aria-label": `Condition ${position.map((index) => index + 1).join(".")}` },
      cell("field", fieldInput, "field"),
      cell("operator", operatorSelect, "operator"),
      valueControl ? cell("value", valueControl, "value") : h("div", { class: "ab-leaf__cell ab-leaf__value" }),
      readOnly ? null : h("button", {
        type: "button", class: "button ab-remove", "aria-label": "Remove condition", title: "Remove condition",
        "data-focus-id": `cond:${position}:remove`, onclick: () => commit(removeAt(root, position), null, true),
      }, "×"));
  };

  const groupBox = (node, position) => {
    const kind = groupKind(node);
    const id = uid("kind");
    const kindSelect = h("select", { id, disabled: readOnly, "data-focus-id": `cond:${position}:kind` },
      h("option", { value: "all", selected: kind === "all" }, "all of these (AND)"),
      h("option", { value: "any", selected: kind === "any" }, "any of these (OR)"));
    kindSelect.addEventListener("change", () => commit(setKind(root, position, kindSelect.value), null, true));
    const items = node[kind].map((item, index) => (isGroup(item)
      ? groupBox(item, [...position, index]) : leafRow(item, [...position, index])));
    // The group is named with its kind, as the server names it ("if.all": an empty list, say).
    return h("fieldset", { class: `ab-group ab-group--${kind}`, "data-field": fieldPath(position, kind) },
      h("legend", {}, h("label", { for: id }, position.length ? "Group: match " : "Match "), kindSelect),
      items.length ? items : h("p", { class: "ab-help" }, position.length ? "No conditions: always true." : empty),
      readOnly ? null : h("div", { class: "ab-group__buttons" },
        h("button", { type: "button", class: "button", "data-focus-id": `cond:${position}:add`,
                      onclick: () => commit(addLeaf(root, position), null, true) }, "Add condition"),
        h("button", { type: "button", class: "button", "data-focus-id": `cond:${position}:group`,
                      onclick: () => commit(addGroup(root, position, kind === "all" ? "any" : "all"), null, true) }, "Add group"),
        position.length ? h("button", { type: "button", class: "button ab-remove", "data-focus-id": `cond:${position}:remove`,
                                        onclick: () => commit(removeAt(root, position), null, true) }, "Remove group") : null),
      h("ul", { class: "ab-errors", "aria-live": "polite" }));
  };

  function draw(focusId) {
    const focused = focusId || document.activeElement?.dataset?.focusId;
    container.replaceChildren(
      title ? h("p", { class: "ab-help" }, title) : "",
      datalist,
      groupBox(root, []),
      h("ul", { class: "ab-errors", "aria-live": "polite" }));
    const target = focused && container.querySelector(`[data-focus-id="${CSS.escape(focused)}"]`);
    if (target) target.focus();
  }

  draw();
  container.getRoot = () => getAt(root, []);
  return container;
}
