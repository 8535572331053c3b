import assert from "node:assert/strict";
import { test } from "node:test";

import {
  endingLabel, moneyRows, notStartedLabel, resultSummary,
} from "../../../../automations/static/automations/builder/state/backtest.js";

test("endings read as what happened", () => {
  assert.equal(endingLabel("stop:recovered"), "Stopped at recovered");
  assert.equal(endingLabel("exit:invoice.paid"), "Ended by invoice.paid (exit_on)");
  assert.equal(endingLabel("failed:retry"), "Failed at retry");
  assert.equal(endingLabel("failed:conditions"), "Failed at conditions");
  assert.equal(endingLabel("end"), "Reached the last step");
  assert.equal(endingLabel("something:new"), "something:new");
});

test("why a run did not start, and the summary sentence", () => {
  assert.equal(notStartedLabel("reentry_skip_if_running"), "a run for the same value was live (reentry skip_if_running)");
  assert.equal(notStartedLabel("other"), "other");
  const result = { events: { triggers: 1 }, trigger_event: "payment.failed", started: 1,
                   not_started: { entry_conditions: 2, reentry_once: 1 } };
  assert.equal(resultSummary(result), "1 payment.failed event: 1 run would have started, 3 not.");
});

test("money rows: one per action and currency, retries with what would succeed and what the card rules refuse", () => {
  const result = { money: {
    retry_payment: { EUR: { count: 3, amount: "30.00", succeeded: 1, succeeded_amount: "10.00",
                            refused: 2, refused_amount: "20.00", held: 1, held_amount: "10.00" } },
    void_invoice: { USD: { count: 1, amount: "5.00" } },
  } };
  assert.deepEqual(moneyRows(result), [
    ["retry_payment", "EUR", "3", "30.00", "1 (10.00)", "2 refused (20.00), 1 held back (10.00)"],
    ["void_invoice", "USD", "1", "5.00", "", ""]]);
});
