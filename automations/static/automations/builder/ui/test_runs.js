// Test mode from the builder: the test of what is on screen (saved or not) with the test data and
// the scenario chosen in the Test tab, and "Test every path". Nothing is sent, charged or written.

import { placeErrors } from "../state/problems.js";
import { announce } from "./dom.js";

export class TestRuns {
  constructor(app) {
    this.app = app;
  }

  /** The outputs the last test run gave earlier steps, by step key (what later steps read). */
  outputs() {
    const outputs = {};
    for (const entry of this.app.state.testRun?.timeline || []) {
      if (entry.type === "action" && entry.would) outputs[entry.step] = entry.would;
      if (entry.type === "branch") outputs[entry.step] = { branch: entry.branch };
      if (entry.type === "split") outputs[entry.step] = { variant: entry.variant };
    }
    return outputs;
  }

  /** What a test runs: the definition on screen and its data. */
  subject() {
    const { state } = this.app;
    const body = { definition: this.app.definition(), billing_data: state.testBillingData !== false };
    if (state.testData !== undefined) body.data = state.testData;
    return body;
  }

  /** The server refused to test what is on screen: its problems are placed beside their fields. */
  refused(error) {
    const { app } = this;
    const errors = error.errors || [{ field: "", message: error.message }];
    app.state.placed = placeErrors(app.definition(), errors);
    app.notices.show(`The test could not run: ${errors.length} problem${errors.length === 1 ? "" : "s"} to fix first.`, "error");
  }

  async run() {
    const { app } = this;
    const { state } = app;
    state.tab = "test";
    const body = this.subject();
    if (state.testEvents?.length) body.events = state.testEvents;
    if (state.testDecision) body.decision = state.testDecision;
    if (state.testDecisions && Object.keys(state.testDecisions).length) body.decisions = state.testDecisions;
    const steps = app.stepsByKey();
    const outcomes = Object.entries(state.testOutcomes || {}).filter(([key]) => steps[key]);
    if (outcomes.length) body.outcomes = Object.fromEntries(outcomes);
    const variants = Object.entries(state.testVariants || {}).filter(([key]) => steps[key]?.type === "split");
    if (variants.length) body.variants = Object.fromEntries(variants);
    try {
      state.testRun = await app.api.post(app.automationPath("test"), body);
      state.testStale = false;
      announce(`Test finished: ${state.testRun.status}, ${state.testRun.timeline.length} steps.`);
    } catch (error) {
      state.testRun = null;
      this.refused(error);
    }
    app.render();
    app.renderPanel();
  }

  async everyPath() {
    const { app } = this;
    app.state.tab = "test";
    try {
      app.state.testPaths = await app.api.post(app.automationPath("test-paths"), this.subject());
      const found = app.state.testPaths;
      announce(`Every path tested: ${found.paths.length} paths, ${found.unreached.length} ways no scenario reaches.`);
    } catch (error) {
      app.state.testPaths = null;
      this.refused(error);
    }
    app.renderPanel();
  }

  /** Run the test with a path's scenario (its outcomes, decisions, events and variants) and show
   *  its timeline. */
  showPath(scenario) {
    const { state } = this.app;
    state.testOutcomes = Object.fromEntries(Object.entries(scenario.outcomes || {}));
    state.testDecisions = { ...(scenario.decisions || {}) };
    state.testEvents = [...(scenario.events || [])];
    state.testVariants = { ...(scenario.variants || {}) };
    return this.run();
  }
}
