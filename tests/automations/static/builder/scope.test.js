import assert from "node:assert/strict";
import { test } from "node:test";

import { earlierSteps, insertion, missingReason, outcomesBefore, variablesAt } from "../../../../automations/static/automations/builder/state/scope.js";
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

test("what an earlier step said is optional where it may not be there, and inserted with a default", () => {
  const item = (groups, path) => groups.find((group) => group.group === "Earlier steps").items.find((it) => it.path === path);
  const definition = dunning();
  assert.deepEqual(outcomesBefore(definition, "tell_ops"), { gentle: "succeeded", wait_3d: "succeeded",
    still_unpaid: "succeeded", retry: "failed" });
  const inFallback = variablesAt(definition, "tell_ops", context);
  assert.equal(item(inFallback, "steps.retry.output.status").optional, undefined, "a fallback knows the step failed");
  assert.match(item(inFallback, "steps.retry.output.decline_code").why, /step retry failed/);
  const after = variablesAt(definition, "final", context);
  assert.match(item(after, "steps.tell_ops.output").why,
    /does not always run before this step/, "a fallback's step may not have run");
  const guarded = item(after, "steps.retry.output.decline_code");
  assert.equal(guarded.insert, '{{ steps.retry.output.decline_code | default("") }}');
  assert.equal(item(after, "steps.gentle.output.subject").optional, undefined, "a step the run goes past only on success");
});

test("the outputs a step type describes: a branch's lane, a wait's event (which a timeout leaves out)", () => {
  const item = (groups, path) => groups.find((group) => group.group === "Earlier steps").items.find((it) => it.path === path);
  const wait = { key: "wait_paid", type: "wait_for", events: ["invoice.paid"], timeout: "3d" };
  const definition = insertStep(dunning(), ROOT, 2, wait);
  const groups = variablesAt(definition, "final", context);
  assert.deepEqual(item(groups, "steps.still_unpaid.output.branch"), { path: "steps.still_unpaid.output.branch", sample: "then" });
  const event = item(groups, "steps.wait_paid.output.event");
  assert.equal(event.why, "an optional field");
  assert.equal(event.insert, '{{ steps.wait_paid.output.event | default("") }}');
  assert.equal(item(groups, "steps.wait_paid.output.timed_out").insert, "{{ steps.wait_paid.output.timed_out | default(false) }}");
  assert.equal(item(groups, "steps.wait_3d.output"), undefined, "a delay says nothing");
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

const entities = {
  customer: { type: "object", required: ["id", "name", "email", "metadata", "phone"], additionalProperties: true,
              properties: { id: { type: "string" }, name: { type: "string" }, email: { type: "string" },
                            phone: { type: ["string", "null"] }, metadata: { type: "object" } } },
  invoice: { type: "object", required: ["id", "number", "line_items"],
             properties: { id: { type: "string" }, number: { type: "string" }, due_date: { type: ["string", "null"] },
                           amount_due: { type: ["string", "number"], format: "money" }, line_items: { type: "array" } } },
  payment: { type: "object", required: ["id", "attempt_number"],
             properties: { id: { type: "string" }, attempt_number: { type: "integer" } } },
};

test("a field that may be missing is marked optional and inserted with a default", () => {
  const withSchemas = {
    ...context, entities,
    eventTypes: { "payment.failed": { schema: { required: ["customer", "invoice"] }, sample: {
      customer: { id: "cus_1", name: "Acme", phone: null, metadata: { account_manager: "dana@example.com" } },
      invoice: { id: "inv_1", number: "INV-1", due_date: "2026-11-30" },
      payment: { id: "pay_1", attempt_number: 1 },
    } } },
  };
  const data = variablesAt(dunning(), "gentle", withSchemas).find((group) => group.group === "Trigger data").items;
  const item = (path) => data.find((entry) => entry.path === path);
  assert.deepEqual(item("customer.name"), { path: "customer.name", sample: "Acme" }, "always there: as it is");
  assert.deepEqual(item("customer.metadata.account_manager"), {
    path: "customer.metadata.account_manager", sample: "dana@example.com", optional: true,
    why: "customer.metadata holds whatever keys the data has",
    insert: '{{ customer.metadata.account_manager | default("") }}' });
  assert.equal(item("customer.phone").why, "it may be null");
  assert.equal(item("invoice.due_date").insert, '{{ invoice.due_date | default("") }}');
  assert.equal(item("payment.attempt_number").why, "the trigger does not always bring a payment");
  assert.equal(item("payment.attempt_number").insert, "{{ payment.attempt_number | default(0) }}", "a number's default");
});

test("insertion and the reason a path may be missing, from the schemas alone", () => {
  assert.equal(missingReason("invoice.amount_due", entities), "an optional field");
  assert.equal(insertion("invoice.amount_due", true, entities.invoice.properties.amount_due), "{{ invoice.amount_due | default(0) }}");
  assert.equal(insertion("invoice.line_items", true, { type: "array" }), "{{ invoice.line_items | default([]) }}");
  assert.equal(insertion("invoice.number", false), "{{ invoice.number }}");
  assert.equal(missingReason("invoice.number", entities), "");
  assert.equal(missingReason("days_before", entities), "", "a field no schema describes: nothing known");
  assert.equal(missingReason("customer.email", entities, ["invoice"]), "the trigger does not always bring a customer");
});
