// A backtest's result as a person reads it: endings ("stop:recovered" -> "Stopped at recovered"),
// why runs did not start, the summary sentence and the money rows. Pure.

const NOT_STARTED = {
  entry_conditions: "entry conditions did not hold",
  reentry_skip_if_running: "a run for the same value was live (reentry skip_if_running)",
  reentry_once: "a run for the same value had started before (reentry once)",
  trigger_parameters: "the event's parameters did not match the trigger",
};

/** "stop:recovered", "exit:invoice.paid", "failed:retry", "end" as a person reads them. */
export function endingLabel(ending) {
  const at = ending.indexOf(":");
  const [kind, detail] = at < 0 ? [ending, ""] : [ending.slice(0, at), ending.slice(at + 1)];
  if (kind === "stop") return `Stopped at ${detail}`;
  if (kind === "exit") return `Ended by ${detail} (exit_on)`;
  if (kind === "failed") return detail ? `Failed at ${detail}` : "Failed";
  if (kind === "end") return "Reached the last step";
  return ending;
}

export function notStartedLabel(reason) {
  return NOT_STARTED[reason] || reason;
}

/** "860 payment.failed events: 520 runs would have started, 340 not." */
export function resultSummary(result) {
  const notStarted = Object.values(result.not_started).reduce((sum, n) => sum + n, 0);
  return `${result.events.triggers} ${result.trigger_event} event${result.events.triggers === 1 ? "" : "s"}: `
    + `${result.started} run${result.started === 1 ? "" : "s"} would have started, ${notStarted} not.`;
}

/** "2 refused (40.00), 1 held back (20.00)": the charges the card networks' rules would not let be made. */
function refusedText(bucket) {
  return [["refused", "refused"], ["held", "held back"]].filter(([kind]) => bucket[kind])
    .map(([kind, words]) => `${bucket[kind]} ${words} (${bucket[`${kind}_amount`]})`).join(", ");
}

/** [action, currency, calls, amount, would succeed, refused by the card rules] for each action and currency. */
export function moneyRows(result) {
  return Object.entries(result.money).flatMap(([action, currencies]) => Object.entries(currencies).map(
    ([currency, bucket]) => [action, currency, String(bucket.count), bucket.amount,
      bucket.succeeded === undefined ? "" : `${bucket.succeeded} (${bucket.succeeded_amount})`, refusedText(bucket)]));
}
