// What the flow is drawn with (see flow.js): the builder's state read for the cards — selection,
// problems, positions for Move up/down, and the path the last test run took.

import { findStep, getLane, laneTaken } from "../state/tree.js";

/** The steps a test run reached (with their day) and the lane each branch or split took. */
export function testPath(run) {
  const steps = new Map();
  const lanes = new Map();
  for (const entry of run.timeline || []) {
    if (!steps.has(entry.step)) steps.set(entry.step, { day: entry.day, detail: entry.error ? "failed" : "" });
    const taken = laneTaken(entry.type, entry);
    if (taken) lanes.set(entry.step, taken);
  }
  return { steps, lanes };
}

/** The view renderFlow() draws ``app``'s definition with. */
export function flowView(app, mode = "edit") {
  const definition = app.definition();
  const { placed, warned, testRun, testStale } = app.state;
  const reached = testRun && !testStale ? testPath(testRun) : null;
  return {
    mode,
    canEdit: app.canEdit,
    selected: app.state.selected,
    collapsed: app.state.collapsed,
    actions: app.catalog.actions,
    eventTypes: app.catalog.eventTypes,
    words: true,
    problemCount: (target) => (placed.byTarget[target] || []).length,
    warningCount: (target) => (warned.byTarget[target] || []).length,
    positionOf: (key) => {
      const found = findStep(definition, key);
      return { first: found.index === 0, last: found.index === getLane(definition, found.lane).length - 1 };
    },
    decorate: reached ? (key) => {
      if (key === "trigger" || key === "conditions") return null;
      const entry = reached.steps.get(key);
      return entry ? { status: "reached", label: `Test: day ${entry.day}`, detail: entry.detail }
        : { status: "not-reached", label: "Test: not reached" };
    } : null,
    laneDecoration: reached ? (key, slot) => (reached.lanes.get(key) === slot ? "taken" : null) : null,
    figures: mode === "edit" && app.figuresBar?.figures ? (key) => app.figuresBar.lineFor(key) : null,
  };
}
