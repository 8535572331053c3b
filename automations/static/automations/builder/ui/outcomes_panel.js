// The Outcomes tab: how the automation does over the period and version chosen in the bar above
// the flow — the headline (runs, goal, money recovered, time to recover), the daily series drawn
// by uPlot (vendored; a table of the same figures for a screen reader), the funnel of how far runs
// got, each split step's variants compared (with Keep buttons), and the emails sent by template.

import { dailyColumns, experimentRows, funnelRows, headline } from "../state/figures.js";
import { h } from "./dom.js";

// Each day's count is a point; the lines only lead the eye from day to day.
const POINTS = { show: true, size: 6 };
const SERIES = [
  { label: "Runs started", stroke: "#417690", width: 2, points: POINTS },
  { label: "Reached the goal", stroke: "#2e7d32", width: 2, points: POINTS },
  { label: "Invoices recovered", stroke: "#c25400", width: 2, dash: [6, 3], points: POINTS },
];
const CHART_HEIGHT = 180;

function table(caption, head, rows, className = "ab-outcomes-table") {
  return h("table", { class: className }, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((cell) => h("th", { scope: "col" }, cell)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((cell, index) => (index === 0
      ? h("th", { scope: "row" }, cell) : h("td", {}, cell)))))));
}

function periodWords(figures) {
  const version = figures.version ? `version ${figures.version}` : "all versions";
  return `From ${figures.from} to ${figures.to} (UTC), ${version}: choose the period and the version above the flow.`;
}

/** The daily series as a chart; drawn once the chart library is loaded and the panel is laid out. */
function dailyChart(figures) {
  const days = figures.daily || [];
  const total = (name) => days.reduce((sum, day) => sum + (day[name] || 0), 0);
  const holder = h("div", {
    class: "ab-outcomes-chart", role: "img",
    "aria-label": `Runs per day from ${figures.from} to ${figures.to}: ${total("started")} started, `
      + `${total("goal")} reached the goal, ${total("recovered")} invoices recovered.`,
  });
  import("../vendor/uplot/uPlot.esm.js").then(({ default: UPlot }) => {
    if (!holder.isConnected) return;  // the tab was left meanwhile
    const width = Math.max(260, holder.clientWidth || 360);
    const chart = new UPlot({
      width, height: CHART_HEIGHT,
      scales: { x: { time: true }, y: { range: (self, min, max) => [0, Math.max(1, max)] } },
      axes: [{}, { label: "runs", size: 44 }],
      series: [{ label: "Day", value: (self, seconds) => (seconds === null ? "—"
        : new Date(seconds * 1000).toISOString().slice(0, 10)) }, ...SERIES],
      cursor: { drag: { x: false, y: false } },
    }, dailyColumns(figures), holder);
    holder.dataset.drawn = "true";
    holder.chart = chart;
  }).catch((error) => {
    holder.replaceChildren(h("p", { class: "ab-help" }, `The chart could not be drawn: ${error.message}`));
  });
  return holder;
}

function dailyTable(figures) {
  const rows = (figures.daily || []).filter((day) => day.started || day.ended || day.goal || day.recovered)
    .map((day) => [day.day, String(day.started), String(day.ended), String(day.goal), String(day.recovered || 0)]);
  return h("details", { class: "ab-outcomes-details" }, h("summary", {}, "The days as a table"),
    rows.length ? table("Runs per day (days with none are left out)", ["Day", "Started", "Ended", "Goal", "Recovered"], rows)
      : h("p", { class: "ab-help" }, "No run started or ended in the period."));
}

function funnel(app, figures) {
  const rows = funnelRows(app.definition(), figures);
  if (!rows.length) return null;
  return h("section", { class: "ab-outcomes-section", "aria-labelledby": "ab-outcomes-funnel" },
    h("h4", { id: "ab-outcomes-funnel" }, "How far runs got"),
    h("ol", { class: "ab-funnel" }, rows.map((row) => {
      const percent = row.share === null ? null : Math.round(row.share * 100);
      const words = [`${row.reached} reached${percent === null ? "" : ` (${percent}%)`}`];
      if (row.waiting) words.push(`${row.waiting} waiting now`);
      if (row.recovered) words.push(`${row.recovered} recovered`);
      // Sizes set through the style object: the page's policy refuses style attributes.
      const fill = h("span", { class: "ab-funnel__fill" });
      fill.style.width = `${percent ?? 0}%`;
      const item = h("li", { class: "ab-funnel__step", "data-step-key": row.key },
        h("span", { class: "ab-funnel__key" }, row.key),
        h("span", { class: "ab-funnel__bar", "aria-hidden": "true" }, fill),
        h("span", { class: "ab-funnel__words" }, words.join(" · ")));
      item.style.setProperty("--ab-depth", String(row.depth));
      return item;
    })));
}

/** Each split step: its variants side by side, what the comparison says, and Keep buttons. */
function experiments(app, figures) {
  const found = figures.experiments || [];
  if (!found.length) return null;
  return h("section", { class: "ab-outcomes-section", "aria-labelledby": "ab-outcomes-experiments" },
    h("h4", { id: "ab-outcomes-experiments" }, "Experiments"),
    found.map((experiment) => {
      const significant = experiment.comparison.significant;
      return h("div", { class: "ab-experiment", "data-step-key": experiment.step },
        table(`Split ${experiment.step}${experiment.in_definition ? "" : " (not in this version)"}`,
          ["Variant", "Weight", "Runs ended", "Converted", "Recovered", "Median time to recover"],
          experimentRows(experiment)),
        h("p", { class: significant ? "ab-experiment__verdict ab-experiment__verdict--significant"
          : "ab-experiment__verdict" }, experiment.comparison.statement),
        app.canEdit && experiment.in_definition ? h("div", { class: "ab-experiment__actions" },
          ["a", "b"].map((variant) => h("button", {
            type: "button", class: experiment.comparison.better === variant ? "button default" : "button",
            onclick: () => app.drafts.keepVariant(experiment.step, variant),
          }, `Keep variant ${variant.toUpperCase()}`))) : null);
    }));
}

function templates(figures) {
  const rows = Object.entries(figures.templates || {}).map(([name, counts]) => [
    name || "written in the step", String(counts.sent), String(counts.failed)]);
  if (!rows.length) return null;
  return table("Emails by template", ["Template", "Sent", "Failed attempts"], rows);
}

/** The tab's content. */
export function outcomesPanel(app) {
  const bar = app.figuresBar;
  if (!bar.shown) return h("p", { class: "ab-help" }, "Save the automation: its runs are counted once it has some.");
  if (bar.error) return h("p", { class: "ab-help" }, `The figures could not be loaded: ${bar.error}`);
  const figures = bar.figures;
  if (!figures) return h("p", { class: "ab-help" }, "Loading…");
  const hasGoal = Boolean(app.definition().exit_on?.length);
  return h("div", { class: "ab-outcomes" },
    h("p", { class: "ab-help" }, periodWords(figures)),
    h("dl", { class: "ab-outcomes-headline" }, headline(figures, hasGoal).flatMap(([label, value]) => [
      h("dt", {}, label), h("dd", {}, value)])),
    h("section", { class: "ab-outcomes-section", "aria-labelledby": "ab-outcomes-daily" },
      h("h4", { id: "ab-outcomes-daily" }, "Runs per day"), dailyChart(figures), dailyTable(figures)),
    funnel(app, figures),
    experiments(app, figures),
    templates(figures));
}
