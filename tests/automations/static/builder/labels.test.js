import assert from "node:assert/strict";
import { test } from "node:test";

import {
  changeLine, changeSummary, eventLabel, fieldWords, problemPlace, reentryChoices, subjectOf,
} from "../../../../automations/static/automations/builder/state/labels.js";

test("fields and events in words", () => {
  assert.equal(fieldWords("steps.retry.output.decline_code"), "retry's decline code");
  assert.equal(fieldWords("steps.retry.output"), "retry's output");
  assert.equal(fieldWords("customer.metadata.account_manager"), "customer metadata account manager");
  assert.equal(eventLabel("invoice.paid", { "invoice.paid": { description: "Invoice was paid" } }), "Invoice was paid");
  assert.equal(eventLabel("invoice.paid", {}), "invoice.paid");
});

test("starting again is said about what a run is about", () => {
  assert.equal(subjectOf("invoice.id"), "invoice");
  assert.equal(subjectOf("subscription.customer_id"), "subscription customer id");
  assert.equal(subjectOf(undefined), "thing");
  assert.deepEqual(reentryChoices("invoice.id").map(([, label]) => label), [
    "Every trigger starts a run", "Not while a run for the same invoice is under way",
    "Only once ever for the same invoice"]);
});

test("a problem in the settings is placed by the setting's name", () => {
  assert.equal(problemPlace({ target: "settings", field: "correlation_key" }), "Settings · What a run is about");
  assert.equal(problemPlace({ target: "settings", field: "retry.backoff_coefficient" }), "Settings · Retries");
  assert.equal(problemPlace({ target: "wait_3d", field: "duration" }), "wait_3d · duration");
  assert.equal(problemPlace({ target: "trigger", field: "" }), "Trigger");
});

test("a version's changes name the settings in words", () => {
  const diff = {
    summary: "settings changed: correlation_key, exit_on, trigger; steps added: gentle; steps changed: wait_3d",
    settings: ["correlation_key", "exit_on", "trigger"], added: ["gentle"], removed: [],
    changed: [{ key: "wait_3d" }], moved: [],
    lines: ["correlation_key: (none) -> invoice.id", "wait_3d: duration 3d -> 2d"],
  };
  assert.equal(changeSummary(diff), "settings changed: What a run is about, Events that end a run early, Trigger; "
    + "steps added: gentle; steps changed: wait_3d");
  assert.equal(changeLine(diff.lines[0], diff), "What a run is about: (none) -> invoice.id");
  assert.equal(changeLine(diff.lines[1], diff), "wait_3d: duration 3d -> 2d");
  assert.equal(changeSummary({ settings: [], added: [], removed: [], changed: [], moved: [], summary: "no changes" }),
    "no changes");
  // Without its parts, the server's line is kept.
  assert.equal(changeSummary({ summary: "steps removed: final" }), "steps removed: final");
  assert.equal(changeSummary(undefined), "—");
});
