// Outcome figures in words (GET automations/{id}/stats/): the bar above the flow and the line on
// each step's card.

function percent(share) {
  return share === null || share === undefined ? "" : ` (${Math.round(share * 100)}%)`;
}

function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

/** The bar's summary: runs started and live, and the goal reached when there is one (exit events). */
export function figuresSummary(figures, hasGoal) {
  const runs = figures.runs;
  const parts = [`${plural(runs.started, "run")} started`, `${runs.live} live now`];
  if (hasGoal) parts.push(`${plural(runs.goal, "run")} reached the goal${percent(runs.conversion)}`);
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
  return parts.join(" · ");
}
