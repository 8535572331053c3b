import assert from "node:assert/strict";
import { test } from "node:test";

import {
  flowStepLabel, laneName, lanesOfType, startingFields, stepType, stepTypes, useStepTypes,
} from "../../../../automations/static/automations/builder/state/step_types.js";
import { laneLabel, lanesOf, newStep } from "../../../../automations/static/automations/builder/state/tree.js";
import { stepTypeLabel, summarizeByTemplates, summarizeStep } from "../../../../automations/static/automations/builder/state/summary.js";
import { dunning, NOOP, STEP_TYPES } from "./fixtures.js";

const INVOICE_RUN = { roots: new Set(["customer", "invoice", "payment"]) };

/** Run ``fn`` with the catalogue as the server gives it once a host registers ``extra`` types. */
function withTypes(extra, fn) {
  useStepTypes([...STEP_TYPES, ...extra]);
  try {
    fn();
  } finally {
    useStepTypes(STEP_TYPES);
  }
}

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
  assert.deepEqual(newStep(dunning(), "loop", undefined, INVOICE_RUN),
                   { key: "loop", type: "loop", over: "invoice.line_items", as: "item", steps: [] });
  assert.deepEqual(newStep(dunning(), "loop").over, { collection: "customers" });
});

test("the defaults are copies: editing one new step changes no other", () => {
  const first = startingFields("action", "send_email");
  first.config.to = "someone@example.com";
  assert.equal(startingFields("action", "send_email").config.to, "{{ customer.email }}");
  assert.deepEqual(startingFields("action", "an_action_of_the_host"), { config: {} });
  const branch = startingFields("branch", undefined, INVOICE_RUN);
  branch.if.all[0].value = "paid";
  assert.equal(startingFields("branch", undefined, INVOICE_RUN).if.all[0].value, "open");
  assert.equal(stepType("branch").blank_by_data[0].fields.if.all[0].value, "open");
});

test("the cards, the lanes and the palette read the server's catalogue", () => {
  assert.deepEqual(stepTypes().map((entry) => entry.type), ["action", "delay", "wait_for", "approval", "branch", "split", "loop", "stop"]);
  assert.equal(stepTypeLabel({ type: "wait_for" }), "Wait for event");
  assert.equal(stepTypeLabel({ type: "split" }), "Split (A/B test)");
  assert.deepEqual(lanesOfType("split"), ["a", "b"]);
  assert.equal(laneLabel({ owner: "experiment", slot: "b" }, "split"), "Variant B of experiment");
  assert.equal(summarizeStep({ key: "experiment", type: "split", weight_a: 90, weight_b: 10 }), "A 90 : B 10");
  assert.equal(stepTypeLabel({ type: "action", action: "send_email" }, { send_email: { label: "Send email" } }), "Send email");
  assert.deepEqual(lanesOfType("branch"), ["then", "else"]);
  assert.deepEqual(lanesOf({ type: "loop" }), ["steps"]);
  assert.equal(laneLabel({ owner: "repeat", slot: "steps" }, "loop"), "Loop body of repeat");
  assert.equal(laneLabel({ owner: "retry", slot: "fallback" }), "Fallback of retry");
});

test("a host's step type is offered, named, started and summed up from what the server says of it", () => {
  withTypes([NOOP], () => {
    assert.equal(stepTypes().at(-1).type, "noop");
    assert.equal(stepTypeLabel({ type: "noop" }), "Noop");
    assert.deepEqual(newStep(dunning(), "noop"), { key: "noop", type: "noop" });
    assert.deepEqual(lanesOf({ type: "noop" }), []);
    assert.equal(summarizeStep({ key: "n", type: "noop", note: "Invoice {{ invoice.number }}" }), "Invoice {{ invoice.number }}");
    assert.equal(summarizeStep({ key: "n", type: "noop" }), "(no note)");
  });
  // a type this server does not have: named by its key in words, with no lanes and no fields
  assert.equal(flowStepLabel("archive_invoice"), "Archive invoice");
  assert.deepEqual(startingFields("archive_invoice"), {});
  assert.deepEqual(lanesOf({ type: "archive_invoice", steps: [{ key: "x", type: "stop" }] }), []);
});

test("a host's type with lanes: its lanes are walked and named, and a new one starts with them", () => {
  const guard = {
    ...NOOP, type: "guarded", label: "Guarded", lanes: ["body", "on_error"], lane_labels: { body: "Body", on_error: "On error" },
    blank: { type: "guarded", level: 2, body: [] }, blank_by_data: [{ root: "invoice", fields: { level: 3 } }],
    summary: ["Guarded at level {level} in {place.name}", "Guarded at level {level}"],
  };
  withTypes([guard], () => {
    assert.deepEqual(newStep(dunning(), "guarded"), { key: "guarded", type: "guarded", level: 2, body: [] });
    assert.equal(newStep(dunning(), "guarded", undefined, INVOICE_RUN).level, 3);
    assert.equal(laneName("on_error", "guarded"), "On error");
    assert.equal(laneLabel({ owner: "g", slot: "on_error" }, "guarded"), "On error of g");
    assert.equal(summarizeStep({ type: "guarded", level: 2, place: { name: "Berlin" } }), "Guarded at level 2 in Berlin");
    assert.equal(summarizeStep({ type: "guarded", level: 2 }), "Guarded at level 2");
    assert.equal(summarizeStep({ type: "guarded" }), "Guarded at level (no level)");
  });
});

test("summary templates: the first whose fields are all set; lists and objects shown as values", () => {
  const templates = ["wait for {events} · up to {timeout}", "wait for {events}"];
  assert.equal(summarizeByTemplates({ events: ["invoice.paid", "invoice.voided"], timeout: "3d" }, templates),
               "wait for invoice.paid, invoice.voided · up to 3d");
  assert.equal(summarizeByTemplates({ events: [] }, templates), "wait for (no events)");
  assert.equal(summarizeByTemplates({ over: { collection: "customers" } }, ["over {over}"]), 'over {"collection":"customers"}');
  assert.equal(summarizeByTemplates({}, [], "Marks the run"), "Marks the run");
  assert.equal(summarizeStep({ type: "checkpoint" }), "Checkpoint", "a type not described: its key in words");
});
