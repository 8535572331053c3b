// How a test run or a tested path ends, in the run view's words: a run that went past a declined
// payment reads "completed, payment declined", never "succeeded" (which an operator reads as
// "collected").

const WENT_PAST = new Set(["fallback", "carries on after failing"]);

/** The ending of a run whose status is ``status``; ``wentPastADecline``: a payment retry failed
 *  and the run went on (its fallback steps, or the next step). */
export function endingWords(status, wentPastADecline) {
  if (status !== "succeeded") return status;
  return wentPastADecline ? "completed, payment declined," : "completed";
}

/** Whether a test run's timeline went on past a declined payment retry. */
export function timelineWentPastADecline(timeline) {
  return (timeline || []).some((entry) => entry.action === "retry_payment" && entry.error
    && /fallback|carries on/.test(entry.then || ""));
}

/** Whether a tested path (its ways: ``{step, way}``) went on past a declined payment retry;
 *  ``stepsByKey`` tells which steps retry a payment. */
export function pathWentPastADecline(ways, stepsByKey) {
  return (ways || []).some((way) => stepsByKey[way.step]?.action === "retry_payment" && WENT_PAST.has(way.way));
}
