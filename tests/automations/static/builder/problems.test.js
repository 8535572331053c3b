import assert from "node:assert/strict";
import { test } from "node:test";

import { errorsFor, locate, placeErrors, splitPath } from "../../../../automations/static/automations/builder/state/problems.js";
import { dunning } from "./fixtures.js";

test("paths split into names and indexes", () => {
  assert.deepEqual(splitPath("steps.still_unpaid.then[1].key"), ["steps", "still_unpaid", "then", 1, "key"]);
  assert.deepEqual(splitPath("conditions.all[0].any[2].value"), ["conditions", "all", 0, "any", 2, "value"]);
});

test("each server error lands on its card and field", () => {
  const definition = dunning();
  assert.deepEqual(locate(definition, "steps.wait_3d.duration"), { target: "wait_3d", field: "duration" });
  assert.deepEqual(locate(definition, "steps.gentle.config.to"), { target: "gentle", field: "config.to" });
  assert.deepEqual(locate(definition, "steps.still_unpaid.then[1].key"), { target: "urgent", field: "key" });
  assert.deepEqual(locate(definition, "steps[3].key"), { target: "wait_7d", field: "key" });
  assert.deepEqual(locate(definition, "trigger.schedule.expression"), { target: "trigger", field: "schedule.expression" });
  assert.deepEqual(locate(definition, "conditions.all[0].value"), { target: "conditions", field: "all[0].value" });
  assert.deepEqual(locate(definition, "exit_on[0]"), { target: "settings", field: "exit_on[0]" });
  assert.deepEqual(locate(definition, "steps"), { target: "flow", field: "" });
  assert.deepEqual(locate(definition, "steps.gone.duration"), { target: "flow", field: "gone.duration" });
});

test("errors are grouped by card and found by field", () => {
  const placed = placeErrors(dunning(), [
    { field: "steps.wait_3d.duration", message: "'soon' is not a duration" },
    { field: "steps.still_unpaid.if.all[0].value", message: "not a status" },
  ]);
  assert.equal(placed.list.length, 2);
  assert.equal(errorsFor(placed, "wait_3d", "duration")[0].message, "'soon' is not a duration");
  assert.equal(errorsFor(placed, "still_unpaid", "if").length, 1);
  assert.equal(errorsFor(placed, "still_unpaid", "if.all[0].field").length, 0);
});
