// A form generated from a JSON Schema (the server's): an action's config (from the actions
// catalogue), or the fields of a step type or a trigger kind the builder has no form of its own
// for (a host's, from the step-type or trigger-kind catalogue). Required marks, help texts, enums
// as selects, checkboxes for yes/no, key/value rows for objects, JSON for free-form values. The
// server stays the one validator; this only helps to fill it in.

import { h } from "./dom.js";
import { checkboxField, jsonField, selectField, textField } from "./fields.js";
import { pickerButton } from "./picker.js";
import { inWords } from "../state/step_types.js";

const MULTILINE = new Set(["body", "html", "description", "message", "text", "body_text", "body_html"]);

/** A schema's type, a nullable one's ("string" for ["string", "null"]). */
function typeOf(schema) {
  return Array.isArray(schema?.type) ? schema.type.find((type) => type !== "null") : schema?.type;
}

function isTextLike(schema) {
  if (!schema) return false;
  if (typeOf(schema) === "string") return true;
  return Array.isArray(schema.oneOf) && schema.oneOf.some((option) => option.type === "string");
}

function stringList(schema) {
  return schema?.type === "array" && schema.items?.type === "string";
}

/** Text typed into a number-or-text field: a number when it is one. */
function numberOrText(text, schema) {
  const numeric = (schema.oneOf || []).some((option) => option.type === "number" || option.type === "integer");
  return numeric && /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text.trim()) : text;
}

function keyValueRows({ field, label, value, schema, onChange, readOnly, picker }) {
  const keys = schema.propertyNames?.enum;
  const rows = Object.entries(value || {});
  const container = h("fieldset", { class: "ab-field ab-kv", "data-field": field },
    h("legend", { class: "ab-label" }, label));
  const commit = () => {
    const result = {};
    for (const row of container.querySelectorAll(".ab-kv__row")) {
      const name = row.querySelector(".ab-kv__key").value.trim();
      const text = row.querySelector(".ab-kv__value").value;
      if (name) result[name] = text === "null" ? null : text;
    }
    onChange(Object.keys(result).length ? result : undefined);
  };
  const addRow = (name = "", text = "") => {
    const keyInput = keys
      ? h("select", { class: "ab-kv__key", "aria-label": `${label} name`, disabled: readOnly },
          h("option", { value: "" }, "choose…"), keys.map((key) => h("option", { value: key, selected: key === name }, key)))
      : h("input", { class: "ab-kv__key", "aria-label": `${label} name`, value: name, readonly: readOnly });
    const valueInput = h("input", { class: "ab-kv__value", "aria-label": `${label} value`, readonly: readOnly });
    valueInput.value = text === null ? "null" : String(text ?? "");
    keyInput.addEventListener(keys ? "change" : "input", commit);
    valueInput.addEventListener("input", commit);
    const row = h("div", { class: "ab-kv__row" }, keyInput, valueInput,
      picker && !readOnly ? pickerButton(valueInput, `${label} value`, picker) : null,
      readOnly ? null : h("button", { type: "button", class: "button ab-kv__remove", "aria-label": `Remove ${label} row`,
                                       onclick: () => { row.remove(); commit(); } }, "×"));
    container.insertBefore(row, container.querySelector(".ab-kv__add"));
  };
  container.append(readOnly ? "" : h("button", { type: "button", class: "button ab-kv__add",
                                                  onclick: () => addRow() }, `Add ${label}`));
  for (const [name, text] of rows) addRow(name, text);
  if (schema.description) container.append(h("p", { class: "ab-help" }, schema.description));
  container.append(h("ul", { class: "ab-errors", "aria-live": "polite" }));
  return container;
}

/** One field for ``name`` of ``schema``. ``onChange(value)`` with undefined to remove it. ``label``:
 *  what the field is called, if not its schema's ``title`` or its name (a name then stands beside
 *  it, for engineers). A choice's words are its schema's ``x-choices``, where it has them. */
export function schemaField({ name, schema, value, required, onChange, readOnly, templated, picker, prefix = "config",
                              label }) {
  const field = prefix ? `${prefix}.${name}` : name;
  const help = schema.description;
  const called = label || schema.title || name;
  const common = { field, label: called, code: called !== name ? name : undefined, help, required, readOnly };
  if (Array.isArray(schema.enum)) {
    const choices = schema.enum.map((choice) => [choice, schema["x-choices"]?.[choice] ?? choice]);
    return selectField({ ...common, value, choices, blank: required ? undefined : "(default)",
                         onChange: (text) => onChange(text === "" ? undefined : text) });
  }
  if (stringList(schema)) {
    return textField({ ...common, value: Array.isArray(value) ? value.join(", ") : value ?? "",
                       help: `${help ? `${help} ` : ""}Separate several with commas.`,
                       onInput: (text) => {
                         const items = text.split(",").map((item) => item.trim()).filter(Boolean);
                         onChange(items.length ? items : undefined);
                       } });
  }
  if (typeOf(schema) === "boolean") {
    return checkboxField({ ...common, checked: value ?? schema.default ?? false,
                           onChange: (on) => onChange(on === (schema.default ?? false) ? undefined : on) });
  }
  if (typeOf(schema) === "object") {
    return keyValueRows({ ...common, value, schema, onChange, picker: templated ? picker : null });
  }
  if (typeOf(schema) === "number" || typeOf(schema) === "integer") {
    return textField({ ...common, type: "number", value: value ?? "",
                       onInput: (text) => onChange(text === "" ? undefined : Number(text)) });
  }
  if (isTextLike(schema)) {
    return textField({ ...common, value: Array.isArray(value) ? value.join(", ") : value ?? "",
                       multiline: MULTILINE.has(name), picker: templated ? picker : null,
                       onInput: (text) => onChange(text === "" ? undefined : numberOrText(text, schema)) });
  }
  return jsonField({ ...common, value, onChange, picker: templated ? picker : null });
}

/**
 * The whole config form. ``action`` is the catalogue entry ({config_schema, literal_fields});
 * ``onChange(name, value)`` for each field edit; ``only`` limits the fields shown.
 */
export function schemaForm({ action, config, onChange, readOnly, picker, only, skip = [] }) {
  const schema = action.config_schema || {};
  const required = new Set(schema.required || []);
  const literal = new Set(action.literal_fields || []);
  const names = Object.keys(schema.properties || {}).filter((name) => (!only || only.includes(name)) && !skip.includes(name));
  if (!names.length) return h("p", { class: "ab-help" }, "This action has nothing to configure.");
  return h("div", { class: "ab-schema-form" }, names.map((name) => schemaField({
    name, schema: schema.properties[name], value: config?.[name], required: required.has(name), readOnly, picker,
    templated: !literal.has(name), onChange: (value) => onChange(name, value),
  })));
}

/**
 * A step's or a trigger's own fields from its schema (the step-type or trigger-kind catalogue's),
 * each named by its title or its name in words; text may hold templates where there is a
 * ``picker``. ``values``: the step or the trigger; ``onChange(name, value)`` for each field edit;
 * ``nothing``: what to say when it has no fields.
 */
export function ownFieldsForm({ schema, values, onChange, readOnly, picker, nothing = "This step has nothing to set." }) {
  const properties = schema?.properties || {};
  const required = new Set(schema?.required || []);
  const names = Object.keys(properties);
  if (!names.length) return nothing ? h("p", { class: "ab-help" }, nothing) : null;
  return h("div", { class: "ab-schema-form" }, names.map((name) => schemaField({
    name, schema: properties[name] || {}, value: values[name], required: required.has(name), readOnly, picker,
    templated: Boolean(picker), prefix: "", label: properties[name]?.title || inWords(name),
    onChange: (value) => onChange(name, value),
  })));
}
