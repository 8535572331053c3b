import assert from "node:assert/strict";
import test from "node:test";

import { TICKET, TRIGGER_KINDS } from "./fixtures.js";
import {
  blankTrigger, triggerDataSource, triggerKind, triggerKinds, triggerLabel, triggerVariables, useTriggerKinds,
} from "../../../../automations/static/automations/builder/state/trigger_kinds.js";
import { summarizeTrigger } from "../../../../automations/static/automations/builder/state/summary.js";
import { triggerData, variablesAt } from "../../../../automations/static/automations/builder/state/scope.js";

function withTicket(body) {
  useTriggerKinds([...TRIGGER_KINDS, TICKET]);
  try {
    body();
  } finally {
    useTriggerKinds(TRIGGER_KINDS);
  }
}

test("the kinds are the catalogue's, in its order, named by their labels", () => {
  assert.deepEqual(triggerKinds().map((kind) => [kind.type, kind.label]),
                   [["event", "A billing event"], ["schedule", "A schedule"], ["manual", "By hand"]]);
  assert.equal(triggerLabel("manual"), "By hand");
  assert.equal(triggerLabel("inbound_webhook"), "Inbound webhook", "a kind this server does not have: its key in words");
  assert.equal(triggerKind("inbound_webhook"), undefined);
});

test("a new trigger is the catalogue's blank, a copy every time", () => {
  const first = blankTrigger("schedule");
  assert.deepEqual(first, { type: "schedule", schedule: { kind: "cron", expression: "0 9 * * 1", timezone: "UTC" } });
  first.schedule.kind = "interval";
  assert.equal(blankTrigger("schedule").schedule.kind, "cron");
  assert.deepEqual(blankTrigger("event"), { type: "event", event: "payment.failed" });
  assert.deepEqual(blankTrigger("nothing_known"), { type: "nothing_known" });
});

test("what a run reads comes from the kind's scope", () => {
  assert.equal(triggerDataSource({ type: "event", event: "payment.failed" }), "event");
  assert.equal(triggerDataSource({ type: "manual" }), "given");
  assert.equal(triggerDataSource({ type: "schedule" }), "none");
  assert.equal(triggerDataSource({ type: "unknown" }), "none");
  assert.deepEqual(triggerVariables({ type: "schedule" }),
                   [{ path: "schedule.slot", sample: "(the time of the slot this run is for)" }]);
  assert.deepEqual(triggerVariables({ type: "manual" }), []);
  const scheduled = { name: "Weekly", trigger: { type: "schedule", schedule: { kind: "interval", every: "7d" } }, steps: [] };
  const run = variablesAt(scheduled, null).find((group) => group.group === "Run").items.map((item) => item.path);
  assert.ok(run.includes("schedule.slot"));
  const byHand = { name: "By hand", trigger: { type: "manual" }, steps: [] };
  assert.ok(!variablesAt(byHand, null).find((group) => group.group === "Run").items.some((item) => item.path === "schedule.slot"));
});

test("a host's kind: summed up by its templates, given data like a run by hand", () => {
  withTicket(() => {
    assert.equal(summarizeTrigger({ type: "ticket", queue: "billing" }), "When a billing ticket is opened");
    assert.equal(triggerLabel("ticket"), "A support ticket");
    assert.deepEqual(triggerData({ trigger: { type: "ticket", queue: "billing" } }, { manualData: { ticket: { id: 7 } } }),
                     { ticket: { id: 7 } });
  });
  assert.equal(summarizeTrigger({ type: "manual" }), "Started by hand (Run now, or the API)");
  assert.equal(summarizeTrigger({ type: "ticket", queue: "billing" }), "Ticket", "without the catalogue: its key in words");
});
