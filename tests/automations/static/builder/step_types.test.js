import assert from "node:assert/strict";
import { test } from "node:test";

import { FLOW_STEP_TYPES, startingFields } from "../../../../automations/static/automations/builder/state/step_types.js";
import { newStep } from "../../../../automations/static/automations/builder/state/tree.js";
import { stepTypeLabel } from "../../../../automations/static/automations/builder/state/summary.js";
import { dunning } from "./fixtures.js";

const INVOICE_RUN = { roots: new Set(["customer", "invoice", "payment"]) };

test("a new email goes to the customer, with a subject and a body to write on", () => {
  const step = newStep(dunning(), "action", "send_email", INVOICE_RUN);
  assert.equal(step.key, "send_email");
  assert.equal(step.config.to, "{{ customer.email }}");
  assert.ok(step.config.subject && step.config.body.startsWith("Hello {{ customer.name }}"));
});

test("a new wait waits a day; a new wait for an event gives up after three days", () => {
  assert.deepEqual(newStep(dunning(), "delay"), { key: "delay", type: "delay", duration: "1d" });
  const waiting = newStep(dunning(), "wait_for");
  assert.deepEqual([waiting.events, waiting.timeout], [["invoice.paid"], "3d"]);
});

test("an approval nobody answers is a no after three days", () => {
  const step = newStep(dunning(), "approval");
  assert.deepEqual([step.timeout, step.on_timeout], ["3d", "rejected"]);
  assert.ok(step.ask.includes("?"));
});

test("a new branch asks about what the run is about; a loop goes over what the data has", () => {
  assert.deepEqual(newStep(dunning(), "branch", undefined, INVOICE_RUN).if,
                   { all: [{ field: "invoice.status", operator: "equals", value: "open" }] });
  assert.deepEqual(newStep(dunning(), "branch", undefined, { roots: new Set(["customer", "subscription"]) }).if,
                   { all: [{ field: "subscription.status", operator: "equals", value: "active" }] });
  assert.equal(newStep(dunning(), "loop", undefined, INVOICE_RUN).over, "invoice.line_items");
  assert.deepEqual(newStep(dunning(), "loop").over, { collection: "customers" });
});

test("the defaults are copies: editing one new step changes no other", () => {
  const first = startingFields("action", "send_email");
  first.config.to = "someone@example.com";
  assert.equal(startingFields("action", "send_email").config.to, "{{ customer.email }}");
  assert.deepEqual(startingFields("action", "an_action_of_the_host"), { config: {} });
});

test("the cards and the palette name flow steps from the same table", () => {
  assert.equal(stepTypeLabel({ type: "wait_for" }), FLOW_STEP_TYPES.wait_for.label);
  assert.equal(stepTypeLabel({ type: "action", action: "send_email" }, { send_email: { label: "Send email" } }), "Send email");
});
