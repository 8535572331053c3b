// How a test run or a tested path ends, in the run view's words: a run that went past a declined
// payment reads "completed, payment declined", never "succeeded" (which an operator reads as
// "collected").

const WENT_PAST = new Set(["fallback", "carries on after failing"]);

/** The ending of a run whose status is ``status``; ``wentPast``: a payment retry failed and the
 *  run went on (its fallback steps, or the next step) — true or "declined" when the card was
 *  declined, "not moved" when no charge was made (the invoice was no longer open, the card rules
 *  refused it, the gateway was down), as the run view says. */
export function endingWords(status, wentPast) {
  if (status !== "succeeded") return status;
  if (!wentPast) return "completed";
  return wentPast === "not moved" ? "completed, money not moved," : "completed, payment declined,";
}

/** Whether a test run's timeline went on past a failed payment retry: "declined" when a card was
 *  declined, else "not moved" (a charge not made); false when it did not. */
export function timelineWentPastADecline(timeline) {
  const missed = (timeline || []).filter((entry) => entry.action === "retry_payment" && entry.error
    && /fallback|carries on/.test(entry.then || ""));
  if (!missed.length) return false;
  return missed.some((entry) => entry.error.startsWith("payment declined")) ? "declined" : "not moved";
}

/** Whether a tested path (its ways: ``{step, way}``) went on past a declined payment retry;
 *  ``stepsByKey`` tells which steps retry a payment. */
export function pathWentPastADecline(ways, stepsByKey) {
  return (ways || []).some((way) => stepsByKey[way.step]?.action === "retry_payment" && WENT_PAST.has(way.way));
}
