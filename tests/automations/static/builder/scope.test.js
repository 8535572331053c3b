import assert from "node:assert/strict";
import { test } from "node:test";

import { earlierSteps, variablesAt } from "../../../../automations/static/automations/builder/state/scope.js";
import { insertStep, ROOT } from "../../../../automations/static/automations/builder/state/tree.js";
import { dunning } from "./fixtures.js";

const context = {
  eventTypes: { "payment.failed": { sample: {
    customer: { id: "cus_1", email: "a@b.example" },
    invoice: { id: "inv_1", number: "INV-1", line_items: [{ description: "Plan", amount: "10.00" }] },
  } } },
  actions: { retry_payment: { output_schema: { properties: { status: {}, decline_code: {} } } },
             send_email: { output_schema: { properties: { subject: {} } } } },
  entitySamples: { customer: { id: "cus_x", name: "Acme" } },
};

function paths(groups, name) {
  return (groups.find((group) => group.group.startsWith(name))?.items || []).map((item) => item.path);
}

test("the trigger's data with sample values", () => {
  const groups = variablesAt(dunning(), "gentle", context);
  const data = groups.find((group) => group.group === "Trigger data").items;
  assert.deepEqual(data.find((item) => item.path === "customer.email"), { path: "customer.email", sample: "a@b.example" });
  assert.ok(paths(groups, "Run").includes("event.type"));
});

test("earlier steps only: on the path, with what ran inside them", () => {
  const definition = dunning();
  assert.deepEqual(earlierSteps(definition, "gentle").map((step) => step.key), []);
  assert.deepEqual(earlierSteps(definition, "urgent").map((step) => step.key),
    ["gentle", "wait_3d", "still_unpaid", "retry", "tell_ops"], "a fallback that may have run counts");
  assert.deepEqual(earlierSteps(definition, "paid").map((step) => step.key), ["gentle", "wait_3d", "still_unpaid"],
    "the other lane of the branch never ran on this path");
  assert.deepEqual(earlierSteps(definition, "tell_ops").map((step) => step.key), ["gentle", "wait_3d", "still_unpaid", "retry"],
    "a fallback sees the failed step's output");
  assert.ok(earlierSteps(definition, "final").map((step) => step.key).includes("tell_ops"));
});

test("earlier steps' outputs by the action's output schema", () => {
  const groups = variablesAt(dunning(), "urgent", context);
  const outputs = paths(groups, "Earlier steps");
  assert.ok(outputs.includes("steps.retry.output.decline_code"));
  assert.ok(outputs.includes("steps.still_unpaid.output.branch"));
  assert.ok(outputs.includes("steps.gentle.output.subject"));
  assert.ok(!outputs.some((path) => path.startsWith("steps.urgent")), "not its own output");
});

test("the loop item only inside its loop", () => {
  const loop = { key: "each_line", type: "loop", over: "invoice.line_items", as: "line",
                 steps: [{ key: "note", type: "action", action: "create_task", config: { title: "x" } }] };
  const definition = insertStep(dunning(), ROOT, 1, loop);
  assert.deepEqual(paths(variablesAt(definition, "note", context), "Loop item"), ["line.description", "line.amount"]);
  assert.deepEqual(paths(variablesAt(definition, "wait_3d", context), "Loop item"), []);
});

test("a loop over a collection offers the record's fields", () => {
  const definition = { name: "Usage", trigger: { type: "schedule", schedule: { kind: "interval", every: "1d" } },
    steps: [{ key: "each", type: "loop", over: { collection: "customers" }, as: "customer",
              steps: [{ key: "tag", type: "action", action: "add_tag", config: { tag: "x" } }] }] };
  const groups = variablesAt(definition, "tag", context);
  assert.deepEqual(paths(groups, "Loop item"), ["customer.id", "customer.name"]);
  assert.deepEqual(paths(groups, "Trigger data"), [], "a schedule has no trigger data");
  assert.ok(paths(groups, "Run").includes("schedule.slot"));
});

test("named secrets are offered by name, never by value", () => {
  const groups = variablesAt(dunning(), "gentle", { ...context, secrets: ["CRM_TOKEN"] });
  assert.deepEqual(groups.at(-1).items, [{ path: "secrets.CRM_TOKEN", sample: "********" }]);
});
