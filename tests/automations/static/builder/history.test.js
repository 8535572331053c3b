import assert from "node:assert/strict";
import { test } from "node:test";

import { canRedo, canUndo, createHistory, record, redo, seal, undo } from "../../../../automations/static/automations/builder/state/history.js";

test("undo and redo walk the edits back and forth", () => {
  let history = createHistory("a");
  history = record(history, "b");
  history = record(history, "c");
  history = undo(history);
  assert.equal(history.present, "b");
  history = undo(history);
  assert.equal(history.present, "a");
  assert.equal(canUndo(history), false);
  history = redo(history);
  assert.equal(history.present, "b");
  history = record(history, "d");
  assert.equal(canRedo(history), false, "a new edit drops what could be redone");
});

test("keystrokes in one field are one undo step, and only that field's", () => {
  let history = createHistory("");
  history = record(history, "x", "field:a");
  history = record(history, "xy", "field:a");
  history = record(history, "xyz", "field:a");
  history = record(history, "xyz!", "field:b");
  history = undo(history);
  assert.equal(history.present, "xyz");
  history = undo(history);
  assert.equal(history.present, "");
  history = createHistory("");
  history = seal(record(history, "x", "field:a"));
  history = record(history, "xy", "field:a");
  assert.equal(undo(history).present, "x", "after leaving the field, typing again is a new step");
});
