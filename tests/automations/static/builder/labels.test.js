import assert from "node:assert/strict";
import { test } from "node:test";

import {
  eventLabel, fieldWords, problemPlace, reentryChoices, subjectOf,
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
