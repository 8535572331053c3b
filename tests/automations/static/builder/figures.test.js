import assert from "node:assert/strict";
import { test } from "node:test";

import "./fixtures.js";  // the server's step types: the funnel walks the lanes they name

import { amounts, dailyColumns, durationWords, experimentRows, figuresLine, figuresSummary, funnelRows, headline } from "../../../../automations/static/automations/builder/state/figures.js";

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

test("the money recovered is in the bar, by currency, and on the card of the step credited", () => {
  const recovered = { ...figures, recovered: { invoices: 3, by_retry: 2, by_customer: 1,
                                               amounts: { USD: "3750.00", EUR: "80.5" } },
                      steps: { retry: { reached: 4, share: 1, recovered: 2, recovered_amounts: { USD: "2500.00" } } } };
  assert.equal(figuresSummary(recovered, false), "4 runs started · 1 live now · "
    + "$3,750.00 + €80.50 recovered (3 invoices: 2 by a retry, 1 by the customer)");
  assert.equal(figuresLine(recovered, "retry"), "4 runs reached it (100%) · $2,500.00 recovered");
  assert.equal(amounts({ XTS: "1.00" }), "XTS\u00a01.00", "a currency without a symbol is written by its code");
});

test("a card says who waits there now and how many reached it", () => {
  assert.equal(figuresLine(figures, "wait_7d"), "1 waiting here now · 2 runs reached it (50%)");
  assert.equal(figuresLine(figures, "gentle"), "4 runs reached it (100%)");
  assert.equal(figuresLine(figures, "final"), "0 runs reached it (0%)", "a step no run reached");
  assert.equal(figuresLine({ runs: { started: 0 }, steps: {} }, "final"), null, "nothing started: no line");
  assert.equal(figuresLine({ runs: { started: 0 }, steps: { wait: { reached: 0, waiting: 2, share: null } } }, "wait"),
    "2 waiting here now · 0 runs reached it", "runs started before the period still wait");
});

test("the Outcomes tab's headline, funnel and series", () => {
  const counted = {
    runs: { started: 4, live: 1, goal: 1, conversion: 0.25 },
    recovered: { invoices: 3, by_retry: 2, by_customer: 1, amounts: { USD: "3750.00" },
                 time_to_recover: { median: 259200, p90: 5400 } },
    steps: { gentle: { reached: 4, share: 1, waiting: 0, recovered: 1, recovered_amounts: { USD: "1250.00" } },
             retry: { reached: 2, share: 0.5, waiting: 1 } },
    daily: [{ day: "2026-11-20", started: 3, ended: 0, goal: 0, recovered: 0 },
            { day: "2026-11-21", started: 1, ended: 2, goal: 1, recovered: 1 }],
  };
  assert.deepEqual(headline(counted, true), [
    ["Runs started", "4"], ["Live now", "1"], ["Reached the goal", "1 (25%)"], ["Money recovered", "$3,750.00"],
    ["Invoices recovered", "3: 2 by a retry, 1 by the customer"], ["Time to recover", "median 3 days, 90% within 1.5 hours"]]);
  const definition = { steps: [{ key: "gentle", type: "action" },
                               { key: "check", type: "branch", then: [{ key: "retry", type: "action" }], else: [] }] };
  assert.deepEqual(funnelRows(definition, counted).map((row) => [row.key, row.depth, row.reached, row.share, row.recovered]), [
    ["gentle", 0, 4, 1, "$1,250.00"], ["check", 0, 0, 0, ""], ["retry", 1, 2, 0.5, ""]]);
  assert.deepEqual(dailyColumns(counted), [[Date.UTC(2026, 10, 20) / 1000, Date.UTC(2026, 10, 21) / 1000], [3, 1], [0, 1], [0, 1]]);
  assert.equal(durationWords(90), "1.5 minutes");
  assert.equal(durationWords(null), "—");
});

test("an experiment's variants read side by side, in words", () => {
  const variant = (weight, runs, converted, recovered, median) => ({
    weight, runs, converted, conversion: runs ? converted / runs : null, recovered, invoices: 0,
    time_to_recover: { median, p90: median } });
  const experiment = { step: "experiment", in_definition: true,
                       variants: { a: variant(50, 40, 30, { USD: "1250.00" }, 0), b: variant(50, 0, 0, {}, null) } };
  assert.deepEqual(experimentRows(experiment), [
    ["Variant A", "50", "40", "30 (75%)", "$1,250.00", "at once"],
    ["Variant B", "50", "0", "0", "—", "—"],
  ]);
  const removed = { ...experiment, in_definition: false, variants: { ...experiment.variants, a: variant(null, 2, 1, {}, 259200) } };
  assert.deepEqual(experimentRows(removed)[0], ["Variant A", "—", "2", "1 (50%)", "—", "3 days"]);
});
