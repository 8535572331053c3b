import assert from "node:assert/strict";
import { test } from "node:test";

import {
  addGroup, addLeaf, asGroup, fieldType, normalize, operatorsFor, parseValue, pathOf, removeAt, setKind, updateAt,
} from "../../../../automations/static/automations/builder/state/conditions.js";

const schemas = { invoice: { properties: {
  status: { enum: ["draft", "open", "paid"] }, amount_due: { type: ["string", "number"], format: "money" },
  due_date: { type: "string", format: "date" }, line_items: { type: "array" }, number: { type: "string" } } } };

test("operators follow the field's type", () => {
  assert.deepEqual(fieldType("invoice.status", { schemas }), { type: "enum", choices: ["draft", "open", "paid"] });
  assert.equal(fieldType("invoice.amount_due", { schemas }).type, "money");
  assert.ok(operatorsFor("money").includes("greater_than"));
  assert.ok(!operatorsFor("enum").includes("greater_than"));
  assert.ok(!operatorsFor("money").includes("starts_with"));
  assert.deepEqual(operatorsFor(fieldType("invoice.line_items", { schemas }).type), ["contains", "not_contains", "is_set", "is_not_set"]);
  assert.equal(fieldType("steps.retry.output.status", { sample: "failed" }).type, "string");
  assert.equal(fieldType("usage.percent", { sample: 120 }).type, "number");
  assert.equal(fieldType("nothing.known", {}).type, "unknown");
});

test("typed values become JSON of the right type", () => {
  assert.equal(parseValue("0", "money", "greater_than"), 0);
  assert.equal(parseValue("12.50", "number", "equals"), 12.5);
  assert.equal(parseValue("open", "enum", "equals"), "open");
  assert.deepEqual(parseValue("smb, mid", "string", "in"), ["smb", "mid"]);
  assert.deepEqual(parseValue("1, 2", "number", "not_in"), [1, 2]);
});

test("groups nest, switch between AND and OR, and empty out to no condition", () => {
  let root = asGroup({ field: "invoice.status", operator: "equals", value: "open" });
  root = addGroup(root, [], "any");
  root = addLeaf(root, [1]);
  root = updateAt(root, [1, 1], (leaf) => ({ ...leaf, field: "customer.segment" }));
  assert.equal(pathOf(root, [1, 1], "value"), "all[1].any[1].value");
  root = setKind(root, [], "any");
  assert.deepEqual(Object.keys(root), ["any"]);
  root = removeAt(removeAt(root, [1]), [0]);
  assert.equal(normalize(root), undefined);
});
