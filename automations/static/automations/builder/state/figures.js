// Outcome figures in words (GET automations/{id}/stats/): the bar above the flow and the line on
// each step's card.

function percent(share) {
  return share === null || share === undefined ? "" : ` (${Math.round(share * 100)}%)`;
}

function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

/** Amounts by currency ({"USD": "1250.00"}) as a reader writes them: "$1,250.00 + €80.00". */
export function amounts(byCurrency) {
  return Object.entries(byCurrency || {}).map(([currency, amount]) => {
    try {
      return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(Number(amount));
    } catch {
      return `${amount} ${currency}`;  // a code Intl does not know
    }
  }).join(" + ");
}

function recoveredWords(recovered) {
  const by = [];
  if (recovered.by_retry) by.push(`${recovered.by_retry} by a retry`);
  if (recovered.by_customer) by.push(`${recovered.by_customer} by the customer`);
  return `${amounts(recovered.amounts)} recovered (${plural(recovered.invoices, "invoice")}: ${by.join(", ")})`;
}

/** The bar's summary: runs started and live, the goal reached when there is one (exit events),
 *  and the money recovered when some was. */
export function figuresSummary(figures, hasGoal) {
  const runs = figures.runs;
  const parts = [`${plural(runs.started, "run")} started`, `${runs.live} live now`];
  if (hasGoal) parts.push(`${plural(runs.goal, "run")} reached the goal${percent(runs.conversion)}`);
  if (figures.recovered?.invoices) parts.push(recoveredWords(figures.recovered));
  return parts.join(" · ");
}

/** A step card's line: runs waiting there now, and how many of the period's runs reached it; none
 *  while no run started in the period and none waits there (a new automation's cards stay quiet). */
export function figuresLine(figures, key) {
  const step = figures.steps?.[key];
  if (!figures.runs.started && !step?.waiting) return null;
  const parts = [];
  if (step?.waiting) parts.push(`${step.waiting} waiting here now`);
  const share = step ? step.share : (figures.runs.started ? 0 : null);
  parts.push(`${plural(step?.reached || 0, "run")} reached it${percent(share)}`);
  if (step?.recovered) parts.push(`${amounts(step.recovered_amounts)} recovered`);
  return parts.join(" · ");
}
