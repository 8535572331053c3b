import assert from "node:assert/strict";
import { test } from "node:test";

import {
  endingWords, pathWentPastADecline, timelineWentPastADecline,
} from "../../../../automations/static/automations/builder/state/endings.js";

const steps = { retry: { type: "action", action: "retry_payment" }, gentle: { type: "action", action: "send_email" } };

test("a run that went past a declined payment never reads succeeded", () => {
  assert.equal(endingWords("succeeded", true), "completed, payment declined,");
  assert.equal(endingWords("succeeded", false), "completed");
  assert.equal(endingWords("failed", true), "failed");
});

test("a test run's timeline went past a decline when the retry failed and the run carried on or fell back", () => {
  const declined = (then) => [{ step: "retry", action: "retry_payment", error: "payment declined: card_declined", then }];
  assert.equal(timelineWentPastADecline(declined("the run carries on")), "declined");
  assert.equal(timelineWentPastADecline(declined("its fallback steps run")), "declined");
  // No charge was made (the invoice was void, the card rules refused it): no money moved, no decline.
  const notMade = [{ step: "retry", action: "retry_payment", error: "cannot collect invoice INV-1: it is void",
                     then: "the run carries on" }];
  assert.equal(timelineWentPastADecline(notMade), "not moved");
  assert.equal(endingWords("succeeded", "not moved"), "completed, money not moved,");
  assert.equal(endingWords("succeeded", "declined"), "completed, payment declined,");
  assert.equal(timelineWentPastADecline(declined("the run fails")), false);
  assert.equal(timelineWentPastADecline([{ step: "retry", action: "retry_payment" }]), false);
  assert.equal(timelineWentPastADecline(undefined), false);
});

test("a tested path went past a decline by the ways its payment retry took", () => {
  assert.equal(pathWentPastADecline([{ step: "retry", way: "carries on after failing" }], steps), true);
  assert.equal(pathWentPastADecline([{ step: "retry", way: "fallback" }], steps), true);
  assert.equal(pathWentPastADecline([{ step: "retry", way: "succeeds" }], steps), false);
  // An email that failed and carried on is not a declined payment.
  assert.equal(pathWentPastADecline([{ step: "gentle", way: "carries on after failing" }], steps), false);
  assert.equal(pathWentPastADecline(undefined, steps), false);
});
