import assert from "node:assert/strict";
import { test } from "node:test";

import {
  canMoveTo, destinations, duplicateStep, findStep, getLane, insertStep, laneTaken, moveDown, moveStep, moveUp,
  newStep, removeStep, renameKey, ROOT, updateStep,
} from "../../../../automations/static/automations/builder/state/tree.js";
import { dunning, keysOf } from "./fixtures.js";

const THEN = { owner: "still_unpaid", slot: "then" };

test("a new step gets a key from its type or action, unique in the definition", () => {
  const definition = dunning();
  assert.equal(newStep(definition, "delay").key, "delay");
  assert.equal(newStep(definition, "action", "send_email").key, "send_email");
  const withOne = insertStep(definition, ROOT, 0, newStep(definition, "action", "send_email"));
  assert.equal(newStep(withOne, "action", "send_email").key, "send_email_2");
  assert.deepEqual(newStep(definition, "delay"), { key: "delay", type: "delay", duration: "1d" });
});

test("insert puts a step at a position of any lane and leaves the input alone", () => {
  const definition = dunning();
  const next = insertStep(definition, THEN, 1, { key: "note", type: "stop" });
  assert.deepEqual(keysOf(getLane(next, THEN)), ["retry", "note", "urgent"]);
  assert.deepEqual(keysOf(getLane(definition, THEN)), ["retry", "urgent"]);
});

test("move within a lane, into a nested lane and back out", () => {
  let definition = dunning();
  definition = moveStep(definition, "final", ROOT, 0);
  assert.deepEqual(keysOf(definition.steps), ["final", "gentle", "wait_3d", "still_unpaid", "wait_7d"]);
  definition = moveStep(definition, "wait_7d", THEN, 0);
  assert.deepEqual(keysOf(getLane(definition, THEN)), ["wait_7d", "retry", "urgent"]);
  assert.deepEqual(keysOf(definition.steps), ["final", "gentle", "wait_3d", "still_unpaid"]);
  definition = moveStep(definition, "tell_ops", ROOT, 4);
  assert.equal(findStep(definition, "retry").step.fallback, undefined, "an emptied fallback is dropped");
  assert.deepEqual(keysOf(definition.steps), ["final", "gentle", "wait_3d", "still_unpaid", "tell_ops"]);
});

test("a step cannot move into itself or its own lanes", () => {
  const definition = dunning();
  assert.equal(canMoveTo(definition, "still_unpaid", THEN), false);
  assert.equal(canMoveTo(definition, "still_unpaid", { owner: "retry", slot: "fallback" }), false);
  assert.equal(canMoveTo(definition, "gentle", THEN), true);
  assert.throws(() => moveStep(definition, "still_unpaid", { owner: "retry", slot: "fallback" }, 0), /inside it/);
});

test("move up and down stop at the ends of a lane", () => {
  const definition = dunning();
  assert.deepEqual(keysOf(moveUp(definition, "wait_3d").steps).slice(0, 2), ["wait_3d", "gentle"]);
  assert.equal(moveUp(definition, "gentle"), definition);
  assert.equal(moveDown(definition, "final"), definition);
  assert.deepEqual(keysOf(getLane(moveDown(definition, "retry"), THEN)), ["urgent", "retry"]);
});

test("duplicate copies a step and its lanes with fresh keys, right after it", () => {
  const { definition, key } = duplicateStep(dunning(), "retry");
  assert.equal(key, "retry_2");
  assert.deepEqual(keysOf(getLane(definition, THEN)), ["retry", "retry_2", "urgent"]);
  assert.deepEqual(keysOf(findStep(definition, "retry_2").step.fallback), ["tell_ops_2"]);
});

test("renaming a key renames the references to its output", () => {
  let definition = insertStep(dunning(), ROOT, 5, {
    key: "note", type: "action", action: "create_task",
    config: { title: "Declined: {{ steps.retry.output.decline_code }}" },
  });
  definition = renameKey(definition, "retry", "second_try");
  assert.equal(findStep(definition, "note").step.config.title, "Declined: {{ steps.second_try.output.decline_code }}");
  assert.ok(findStep(definition, "second_try"));
  assert.throws(() => renameKey(definition, "gentle", "final"), /already called final/);
  assert.throws(() => renameKey(definition, "gentle", "Has Spaces"), /lowercase/);
});

test("remove and update leave every other step alone", () => {
  const definition = dunning();
  const removed = removeStep(definition, "urgent");
  assert.deepEqual(keysOf(getLane(removed, THEN)), ["retry"]);
  const updated = updateStep(definition, "wait_3d", { duration: "2d" });
  assert.equal(findStep(updated, "wait_3d").step.duration, "2d");
  assert.equal(findStep(definition, "wait_3d").step.duration, "3d");
});

test("Move to lists every lane the step may go to, with its positions", () => {
  const lanes = destinations(dunning(), "still_unpaid");
  assert.deepEqual(lanes.map((item) => item.label), ["Main flow", "Fallback of gentle", "Fallback of final"],
    "not its own lanes nor anything inside them");
  const forGentle = destinations(dunning(), "gentle");
  assert.deepEqual(forGentle.map((item) => item.label),
    ["Main flow", "Then of still_unpaid", "Else of still_unpaid", "Fallback of retry", "Fallback of tell_ops",
     "Fallback of urgent", "Fallback of final"], "its own fallback is not a place for it");
  assert.equal(forGentle[0].positions, 5, "its own lane: as many positions as steps");
  assert.equal(forGentle[1].positions, 3, "another lane: one more than its steps");
});

test("definitions that differ only in key order are the same", async () => {
  const { stableJSON } = await import("../../../../automations/static/automations/builder/state/tree.js");
  assert.equal(stableJSON({ b: 1, a: [{ y: 2, x: 1 }] }), stableJSON({ a: [{ x: 1, y: 2 }], b: 1 }));
  assert.notEqual(stableJSON({ a: 1 }), stableJSON({ a: 2 }));
});

test("the lane a branch or a split went down is read from what it said", () => {
  assert.equal(laneTaken("branch", { branch: "else" }), "else");
  assert.equal(laneTaken("split", { variant: "b", reason: "by invoice.id in_1" }), "b");
  assert.equal(laneTaken("delay", { until: "2026-01-01" }), null);
  assert.equal(laneTaken("split", null), null);
});
