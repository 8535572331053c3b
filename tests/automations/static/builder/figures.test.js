import assert from "node:assert/strict";
import { test } from "node:test";

import { figuresLine, figuresSummary } from "../../../../automations/static/automations/builder/state/figures.js";

const figures = {
  runs: { started: 4, live: 1, goal: 1, conversion: 0.25 },
  steps: { wait_7d: { reached: 2, succeeded: 1, failed: 0, waiting: 1, share: 0.5 },
           gentle: { reached: 4, succeeded: 4, failed: 0, waiting: 0, share: 1 } },
};

test("the bar names the goal only when the automation has one", () => {
  assert.equal(figuresSummary(figures, true), "4 runs started · 1 live now · 1 run reached the goal (25%)");
  assert.equal(figuresSummary(figures, false), "4 runs started · 1 live now");
  assert.equal(figuresSummary({ runs: { started: 0, live: 0, goal: 0, conversion: null } }, true),
    "0 runs started · 0 live now · 0 runs reached the goal");
});

test("a card says who waits there now and how many reached it", () => {
  assert.equal(figuresLine(figures, "wait_7d"), "1 waiting here now · 2 runs reached it (50%)");
  assert.equal(figuresLine(figures, "gentle"), "4 runs reached it (100%)");
  assert.equal(figuresLine(figures, "final"), "0 runs reached it (0%)", "a step no run reached");
  assert.equal(figuresLine({ runs: { started: 0 }, steps: {} }, "final"), null, "nothing started: no line");
  assert.equal(figuresLine({ runs: { started: 0 }, steps: { wait: { reached: 0, waiting: 2, share: null } } }, "wait"),
    "2 waiting here now · 0 runs reached it", "runs started before the period still wait");
});
