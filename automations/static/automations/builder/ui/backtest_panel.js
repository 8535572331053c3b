// The Backtest tab: the saved draft (or the active version) replayed over the stored events of
// its trigger type between two dates, in virtual time, with no side effects, against the billing
// data as it is now. It runs on the server as a task: the tab shows its progress, then what would
// have happened — runs started or not and why, how they ended, actions, emails, money — and a
// sample of the individual timelines.

import { endingLabel, moneyRows, notStartedLabel, resultSummary } from "../state/backtest.js";
import { announce, formatTime, h } from "./dom.js";

const POLL_MS = 400;
const FINISHED = new Set(["succeeded", "failed"]);

function day(date) { return date.toISOString().slice(0, 10); }

function defaults(automation) {
  const today = new Date();
  return {
    from: day(new Date(today.getTime() - 30 * 86400000)), to: day(today), busy: false, run: null, errors: [],
    version: automation.draft_version ? String(automation.draft_version) : String(automation.active_version || ""),
  };
}

function table(caption, head, rows) {
  if (!rows.length) return null;
  return h("table", { class: "ab-backtest-table" }, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((cell) => h("th", { scope: "col" }, cell)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((cell, index) => (index === 0
      ? h("th", { scope: "row" }, cell) : h("td", {}, cell)))))));
}

function field(state, name, label, input, errors) {
  const id = `ab-backtest-${name}`;
  input.id = id;
  input.setAttribute("aria-describedby", `${id}-errors`);
  const mine = errors.filter((error) => error.field === name);
  if (mine.length) input.setAttribute("aria-invalid", "true");
  return h("div", { class: "ab-field", "data-field": `backtest.${name}` },
    h("label", { for: id, class: "ab-label" }, label), input,
    h("ul", { class: "ab-errors", id: `${id}-errors`, "aria-live": "polite" }, mine.map((error) => h("li", {}, error.message))));
}

function sampleItem(sample) {
  const title = sample.started
    ? `${sample.event_id} · ${sample.correlation_value || "—"} · ${endingLabel(sample.ending)}`
    : `${sample.event_id} · ${sample.correlation_value || "—"} · not started`;
  return h("li", {}, h("details", { class: "ab-backtest-sample" }, h("summary", {}, title),
    h("p", { class: "ab-help" }, `Event at ${formatTime(sample.occurred_at)}. ${sample.reason || ""}${sample.error ? ` ${sample.error}` : ""}`),
    sample.started ? h("ol", { class: "ab-day__entries" }, sample.timeline.map((entry) => h("li", {
      class: `ab-entry ab-entry--${entry.type}${entry.error ? " ab-entry--failed" : ""}`,
    }, h("strong", {}, entry.step), ` ${entry.action || entry.type}`,
      entry.branch ? ` → ${entry.branch}` : "", entry.error ? ` — failed: ${entry.error}` : "",
      h("span", { class: "ab-entry__offset" }, ` day ${entry.day}, +${entry.offset}`)))) : null));
}

/** What a finished backtest found. */
export function renderResult(result) {
  const version = result.draft ? `the draft (version ${result.version})` : `version ${result.version} (${result.version_state})`;
  return h("div", { class: "ab-backtest-result" },
    h("p", { class: "ab-test-summary" }, resultSummary(result)),
    h("p", { class: "ab-help" }, `${result.name}, ${version}, events from ${formatTime(result.period.from)} to before `
      + `${formatTime(result.period.to)}${result.events.exits_after_period ? `, and ${result.events.exits_after_period} exit events after it` : ""}.`),
    h("p", { class: "ab-help ab-backtest-note" }, `Billing data as it is now (${formatTime(result.billing_data_as_of)}), `
      + "not as it was when each event occurred. Nothing was sent, charged or written."),
    table("Not started", ["Why", "Events"], Object.entries(result.not_started).map(([why, n]) => [notStartedLabel(why), String(n)])),
    table("How the runs end", ["Ending", "Runs"], Object.entries(result.endings).map(([ending, n]) => [endingLabel(ending), String(n)])),
    table("Actions", ["Action", "Would run", "Errors"], Object.entries(result.actions).map(([action, counts]) => [action, String(counts.count), String(counts.errors)])),
    table("Emails by template", ["Template", "Emails"], Object.entries(result.emails).map(([template, n]) => [template, String(n)])),
    table("Money", ["Action", "Currency", "Calls", "Amount", "Would succeed", "Not made (card rules)"], moneyRows(result)),
    h("h4", {}, `Sample runs (${result.samples.length})`),
    h("ul", { class: "ab-backtest-samples" }, result.samples.map(sampleItem)));
}

async function start(app, state) {
  const refresh = () => { if (app.state.tab === "backtest") app.renderPanel(); };
  const body = { from: state.from, to: state.to };
  if (state.version) body.version = Number(state.version);
  Object.assign(state, { busy: true, run: null, errors: [] });
  refresh();
  try {
    let run = await app.api.post(`automations/${app.state.automation.id}/backtest/`, body);
    state.run = run;
    refresh();
    while (!FINISHED.has(run.status)) {
      await new Promise((resolve) => { setTimeout(resolve, POLL_MS); });
      run = await app.api.get(`backtests/${run.id}/`);
      state.run = run;
      refresh();
    }
    announce(run.status === "succeeded" ? `Backtest finished: ${run.result.started} runs would have started.`
      : `Backtest failed: ${run.error}`);
  } catch (error) {
    state.errors = error.errors?.length ? error.errors : [{ field: "", message: error.message }];
    announce(`The backtest could not start: ${error.message}`);
  }
  state.busy = false;
  refresh();
}

export function backtestPanel(app) {
  const automation = app.state.automation;
  if (!automation) {
    return h("p", { class: "ab-help" }, "A backtest replays stored events through a saved automation: save it first.");
  }
  if (!app.state.backtest || app.state.backtest.automation !== automation.id) {
    app.state.backtest = { ...defaults(automation), automation: automation.id };
  }
  const state = app.state.backtest;
  const { errors } = state;
  const from = h("input", { type: "date", value: state.from, required: true });
  from.addEventListener("input", () => { state.from = from.value; });
  const to = h("input", { type: "date", value: state.to, required: true });
  to.addEventListener("input", () => { state.to = to.value; });
  const versions = [];
  if (automation.draft_version) versions.push([automation.draft_version, `Draft (version ${automation.draft_version})`]);
  if (automation.active_version) versions.push([automation.active_version, `Active (version ${automation.active_version})`]);
  const version = h("select", {}, versions.map(([number, label]) => h("option", { value: String(number), selected: String(number) === state.version }, label)));
  version.addEventListener("change", () => { state.version = version.value; });
  const run = state.run;
  const general = errors.filter((error) => !["from", "to", "version"].includes(error.field));
  return h("div", { class: "ab-backtest" },
    h("p", { class: "ab-help" }, "Replays the stored events of the trigger's type between two dates through a saved "
      + "version, in virtual time: what would have started, how each run would have ended, what it would have sent "
      + "and charged. Nothing is sent, charged or written."),
    app.dirty ? h("p", { class: "ab-help ab-backtest-unsaved" }, "The backtest replays what is saved: your unsaved changes are not in it.") : null,
    h("div", { class: "ab-backtest-form" },
      field(state, "from", "from", from, errors), field(state, "to", "to (inclusive)", to, errors),
      field(state, "version", "version", version, errors)),
    general.length ? h("ul", { class: "ab-errors" }, general.map((error) => h("li", {}, error.message))) : null,
    h("button", { type: "button", class: "button default", disabled: state.busy, "data-focus-id": "backtest:run",
                  onclick: () => start(app, state) }, state.busy ? "Backtest running…" : "Run backtest"),
    h("div", { class: "ab-backtest-status", "aria-live": "polite" },
      run && !FINISHED.has(run.status) ? [
        h("label", { for: "ab-backtest-progress", class: "ab-label" },
          `${run.status === "queued" ? "Queued" : "Replaying"}: ${run.progress.done} of ${run.progress.total ?? "…"} events`),
        h("progress", { id: "ab-backtest-progress", max: String(run.progress.total || 1), value: String(run.progress.done) }),
      ] : null,
      run?.status === "failed" ? h("p", { class: "ab-test-error" }, `The backtest failed: ${run.error}`) : null,
      run?.status === "succeeded" ? renderResult(run.result) : null));
}
