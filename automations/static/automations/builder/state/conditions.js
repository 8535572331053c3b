// Condition trees for the condition builder: which operators fit a field's type, how a typed
// value becomes JSON, and edits of the tree by position. Pure.
//
// A position is a list of indexes from the root group: [] is the root, [1, 0] the first item of
// the group that is the root's second item.

import { clone } from "./tree.js";

export const OPERATORS = [
  "equals", "not_equals", "greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal",
  "contains", "not_contains", "starts_with", "ends_with", "in", "not_in", "is_set", "is_not_set",
];
export const UNARY = ["is_set", "is_not_set"];
const PRESENCE = ["is_set", "is_not_set"];
const ORDER = ["greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal"];
const TEXT = ["contains", "not_contains", "starts_with", "ends_with"];
const MEMBERSHIP = ["in", "not_in"];

export const OPERATORS_BY_TYPE = {
  money: ["equals", "not_equals", ...ORDER, ...MEMBERSHIP, ...PRESENCE],
  number: ["equals", "not_equals", ...ORDER, ...MEMBERSHIP, ...PRESENCE],
  date: ["equals", "not_equals", ...ORDER, ...PRESENCE],
  datetime: ["equals", "not_equals", ...ORDER, ...PRESENCE],
  enum: ["equals", "not_equals", ...MEMBERSHIP, ...PRESENCE],
  string: ["equals", "not_equals", ...TEXT, ...MEMBERSHIP, ...PRESENCE],
  boolean: ["equals", "not_equals", ...PRESENCE],
  list: ["contains", "not_contains", ...PRESENCE],
  object: [...PRESENCE],
  unknown: OPERATORS,
};

/** The JSON Schema of a field path inside ``schemas`` ({root: entity JSON Schema}). */
function schemaAt(schemas, path) {
  const [root, ...rest] = String(path || "").split(".");
  let schema = schemas?.[root];
  for (const part of rest) {
    if (!schema) return undefined;
    schema = schema.properties?.[part];
  }
  return schema;
}

/**
 * {type, choices} of a field: from the entity schemas when documented ("invoice.status" is an
 * enum, "invoice.amount_due" money), else guessed from the sample value, else "unknown".
 */
export function fieldType(path, { schemas = {}, sample } = {}) {
  const schema = schemaAt(schemas, path);
  if (schema) {
    if (Array.isArray(schema.enum)) return { type: "enum", choices: schema.enum };
    if (schema.format === "money") return { type: "money" };
    if (schema.format === "date") return { type: "date" };
    if (schema.format === "date-time") return { type: "datetime" };
    const kinds = [].concat(schema.type || []);
    if (kinds.includes("integer") || kinds.includes("number")) return { type: "number" };
    if (kinds.includes("boolean")) return { type: "boolean" };
    if (kinds.includes("array")) return { type: "list" };
    if (kinds.includes("object")) return { type: "object" };
    if (kinds.includes("string")) return { type: "string" };
  }
  if (Array.isArray(sample)) return { type: "list" };
  if (typeof sample === "number") return { type: "number" };
  if (typeof sample === "boolean") return { type: "boolean" };
  if (sample && typeof sample === "object") return { type: "object" };
  if (typeof sample === "string") {
    if (/^\d{4}-\d{2}-\d{2}$/.test(sample)) return { type: "date" };
    if (/^\d{4}-\d{2}-\d{2}T/.test(sample)) return { type: "datetime" };
    return { type: "string" };
  }
  return { type: "unknown" };
}

export function operatorsFor(type) {
  return OPERATORS_BY_TYPE[type] || OPERATORS;
}

/** The JSON value for what was typed: numbers for numeric fields, lists for in / not_in. */
export function parseValue(text, type, operator) {
  if (MEMBERSHIP.includes(operator)) {
    return String(text).split(",").map((item) => item.trim()).filter((item) => item !== "")
      .map((item) => parseValue(item, type, "equals"));
  }
  if ((type === "number" || type === "money") && /^-?\d+(\.\d+)?$/.test(String(text).trim())) {
    return Number(String(text).trim());
  }
  if (type === "boolean" && (text === "true" || text === "false")) return text === "true";
  return text;
}

/** What the value input shows for a stored value. */
export function formatValue(value) {
  if (Array.isArray(value)) return value.join(", ");
  if (value === undefined || value === null) return "";
  return String(value);
}

export function emptyLeaf() {
  return { field: "", operator: "equals", value: "" };
}

export function isGroup(node) {
  return Boolean(node) && typeof node === "object" && ("all" in node || "any" in node);
}

export function groupKind(node) {
  return "any" in node ? "any" : "all";
}

/** A condition as a group, so the builder always edits a group at the root. */
export function asGroup(condition) {
  if (!condition) return { all: [] };
  return isGroup(condition) ? clone(condition) : { all: [clone(condition)] };
}

function nodeAt(root, position) {
  return position.reduce((node, index) => node[groupKind(node)][index], root);
}

export function getAt(root, position) {
  return nodeAt(root, position);
}

/** The tree with the node at ``position`` replaced by ``fn(node)``. */
export function updateAt(root, position, fn) {
  const next = clone(root);
  if (!position.length) return fn(next);
  const parent = nodeAt(next, position.slice(0, -1));
  const items = parent[groupKind(parent)];
  items[position[position.length - 1]] = fn(items[position[position.length - 1]]);
  return next;
}

export function addLeaf(root, groupPosition) {
  return updateAt(root, groupPosition, (group) => {
    group[groupKind(group)].push(emptyLeaf());
    return group;
  });
}

export function addGroup(root, groupPosition, kind = "any") {
  return updateAt(root, groupPosition, (group) => {
    group[groupKind(group)].push({ [kind]: [emptyLeaf()] });
    return group;
  });
}

export function removeAt(root, position) {
  if (!position.length) return { all: [] };
  const next = clone(root);
  const parent = nodeAt(next, position.slice(0, -1));
  parent[groupKind(parent)].splice(position[position.length - 1], 1);
  return next;
}

/** all <-> any for the group at ``position``. */
export function setKind(root, position, kind) {
  return updateAt(root, position, (group) => ({ [kind]: group[groupKind(group)] }));
}

/** The condition as stored: an empty root group is no condition at all. */
export function normalize(root) {
  if (!root || (isGroup(root) && !root[groupKind(root)].length)) return undefined;
  return root;
}

/** "all[0].any[1].value": the error path of a field of the node at ``position``. */
export function pathOf(root, position, field) {
  let node = root;
  const parts = [];
  for (const index of position) {
    const kind = groupKind(node);
    parts.push(`${kind}[${index}]`);
    node = node[kind][index];
  }
  return [...parts, field].filter(Boolean).join(".");
}
