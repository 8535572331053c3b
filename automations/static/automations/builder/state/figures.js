// Outcome figures in words (GET automations/{id}/stats/): the bar above the flow, the line on
// each step's card, and the Outcomes tab's headline, funnel and series.

import { walk } from "./tree.js";

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

/** A span of seconds as a reader says it: "45 minutes", "5 hours", "3 days". */
export function durationWords(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const units = [[86400, "day"], [3600, "hour"], [60, "minute"]];
  for (const [size, unit] of units) {
    if (seconds >= size) {
      const count = Math.round((seconds / size) * 10) / 10;
      return `${count} ${unit}${count === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}

/** The funnel: every step in the flow's order (lanes after the step that owns them), with how
 *  many runs reached it, what share of the runs started that is, how many wait there now and
 *  what it recovered. */
export function funnelRows(definition, figures) {
  const rows = [];
  walk(definition, (step, lane, index, ancestors) => {
    const counted = figures.steps?.[step.key] || {};
    rows.push({ key: step.key, depth: ancestors.length, reached: counted.reached || 0,
                share: counted.share ?? (figures.runs.started ? 0 : null), waiting: counted.waiting || 0,
                recovered: counted.recovered ? amounts(counted.recovered_amounts) : "" });
  });
  return rows;
}

/** The daily series as uPlot reads them: x in Unix seconds, then one array per series. */
export function dailyColumns(figures) {
  const days = figures.daily || [];
  return [days.map((day) => Date.parse(`${day.day}T00:00:00Z`) / 1000),
          days.map((day) => day.started), days.map((day) => day.goal), days.map((day) => day.recovered || 0)];
}

/** The tab's headline, as label and value pairs. */
export function headline(figures, hasGoal) {
  const { runs, recovered } = figures;
  const rows = [["Runs started", String(runs.started)], ["Live now", String(runs.live)]];
  if (hasGoal) rows.push(["Reached the goal", `${runs.goal}${percent(runs.conversion)}`]);
  if (recovered) {
    rows.push(["Money recovered", recovered.invoices ? amounts(recovered.amounts) : "none yet"]);
    if (recovered.invoices) {
      rows.push(["Invoices recovered", `${recovered.invoices}: ${recovered.by_retry} by a retry, `
        + `${recovered.by_customer} by the customer`]);
      rows.push(["Time to recover", `median ${durationWords(recovered.time_to_recover.median)}, `
        + `90% within ${durationWords(recovered.time_to_recover.p90)}`]);
    }
  }
  return rows;
}

/** An experiment's rows: variant, weight, runs ended, converted (with its share), money recovered
 *  and the median time to recover, in words. */
export function experimentRows(experiment) {
  return ["a", "b"].map((variant) => {
    const shown = experiment.variants[variant];
    return [`Variant ${variant.toUpperCase()}`, shown.weight === null ? "—" : String(shown.weight),
      String(shown.runs), `${shown.converted}${percent(shown.conversion)}`,
      amounts(shown.recovered) || "—",
      shown.time_to_recover.median === 0 ? "at once" : durationWords(shown.time_to_recover.median)];
  });
}
