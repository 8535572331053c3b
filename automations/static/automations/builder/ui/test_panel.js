// The Test tab: test mode on what is on screen (saved or not) with the trigger's sample data,
// editable; the timeline by virtual day with each branch decision and why, the rendered emails
// and webhook bodies. Nothing is sent, charged or written.

import { h, pretty } from "./dom.js";
import { icon, iconName } from "./icons.js";
import { selectField, textField } from "./fields.js";
import { endingWords, pathWentPastADecline, timelineWentPastADecline } from "../state/endings.js";
import { inWords } from "../state/step_types.js";

// What every timeline entry has (the card's head shows it): the rest is what the step itself said.
const ENTRY_FIELDS = new Set(["step", "type", "at", "offset", "day", "loop_index", "warnings", "attempt", "scenario"]);

/** A step type the builder has no words of its own for (a host's): what its entry says, field by field. */
function saidFields(entry) {
  const said = Object.entries(entry).filter(([name]) => !ENTRY_FIELDS.has(name));
  if (!said.length) return [h("p", { class: "ab-help" }, "Done.")];
  return said.map(([name, value]) => (value && typeof value === "object"
    ? [labelled(inWords(name), ""), h("pre", {}, pretty(value))]
    : labelled(inWords(name), String(value ?? ""))));
}

function labelled(label, value) {
  return h("div", { class: "ab-kvline" }, h("span", { class: "ab-kvline__label" }, label), " ", value);
}

function wouldDo(entry) {
  const would = entry.would || {};
  if (entry.action === "send_email") {
    return [labelled("To", (would.to || []).join(", ")), labelled("Subject", would.subject || ""),
            h("pre", { class: "ab-email-body" }, would.body || "")];
  }
  if (would.would_call_webhook) {
    const request = would.would_call_webhook;
    return [labelled("Request", `${request.method} ${request.url}`), h("pre", {}, request.body || "(no body)")];
  }
  if (would.would_post_to_slack) return [labelled("Slack", would.would_post_to_slack.text)];
  if (would.would_send_sms) return [labelled("SMS to", would.would_send_sms.to), h("pre", {}, would.would_send_sms.message)];
  if (would.would_create_task) {
    const task = would.would_create_task;
    return [labelled("Task", task.title), labelled("For", task.assignee || "(nobody)"), task.description ? h("pre", {}, task.description) : null];
  }
  // A payment the scenario chose to pay comes without the gateway call: said the same way.
  const call = would.would_call_gateway || (entry.action === "retry_payment" ? { operation: "retry_payment" } : null);
  if (call) {
    const { operation, ...rest } = call;
    const outcome = would.status ? ` → ${would.status}${would.decline_code ? ` (${would.decline_code})` : ""}` : "";
    // a payment says how much it charges, as the run's data has the invoice
    const charges = operation === "retry_payment" && would.amount ? `charges ${would.amount} ${would.currency || ""}`.trim() : operation;
    // What it is called with, line by line in words rather than as JSON.
    return [labelled("Billing", `${charges}${outcome}`), ...Object.entries(rest).map(([name, value]) =>
      labelled(inWords(name), value && typeof value === "object" ? JSON.stringify(value) : String(value ?? "")))];
  }
  return [h("pre", {}, pretty(would))];
}

// Which attempt this was, and the outcome a scenario chose for it (else the prediction), named as
// "What the actions answer" offers it.
function attemptLine(entry, actions) {
  if (!entry.attempt && !entry.scenario) return null;
  const chosen = entry.scenario
    && ((actions?.[entry.action]?.scenario_outcomes || []).find((item) => item.value === entry.scenario)?.label || entry.scenario);
  const parts = [entry.attempt ? `attempt ${entry.attempt}` : "", chosen ? `as the scenario chose (${chosen})` : ""];
  return h("p", { class: "ab-help" }, parts.filter(Boolean).join(", "));
}

function entryDetails(entry, actions) {
  if (entry.error) {
    // what follows a failed attempt, as in a live run: a retry, the fallback steps, carrying on, or the end
    return [h("p", { class: "ab-test-error" }, `Failed: ${entry.error}${entry.then ? ` — ${entry.then}` : ""}`), attemptLine(entry, actions)];
  }
  // a message held back: "waited for the send window until …", "capped: delayed until …" / "capped: skipped (…)"
  if (entry.deferred || entry.skipped) return [labelled(entry.skipped ? "Skipped" : "Waits", entry.reason)];
  if (entry.type === "action") return [...wouldDo(entry), attemptLine(entry, actions), entry.would?.assumed ? h("p", { class: "ab-help" }, `Assumed: ${entry.would.assumed}`) : null];
  switch (entry.type) {
    case "branch": return [labelled("Took", entry.branch === "then" ? "Then" : "Else"), h("p", { class: "ab-help" }, entry.reason || "")];
    case "split": return [labelled("Took", `Variant ${String(entry.variant).toUpperCase()}`),
      h("p", { class: "ab-help" }, entry.reason === "chosen by the test" ? "Chosen by the test."
        : `Drawn ${entry.reason || ""}: the one a live run on this data takes.`)];
    case "delay": return [labelled("Waits", `${entry.waits} (until ${entry.until.replace("T", " ").slice(0, 16)} UTC)`)];
    case "loop": return [labelled("Items", `${entry.items}${entry.truncated ? " (cut to max_items)" : ""}`)];
    case "stop": return [labelled("Ends", entry.status)];
    case "wait_for": return [labelled("Waited", entry.output?.timed_out
      ? "until the timeout: no event came"
      : `until ${entry.output?.event} arrived (${entry.output?.event_id})`)];
    case "approval": return [labelled("Decision", `${entry.decision}${entry.output?.by ? ` by ${entry.output.by}` : ""}${entry.output?.timed_out ? " (nobody decided in time)" : ""}`)];
    default: return saidFields(entry);
  }
}

function warnings(entry) {
  const list = entry.warnings || [];
  return list.length ? h("ul", { class: "ab-warnings" }, list.map((text) => h("li", {}, `Warning: ${text}`))) : null;
}

/** The timeline of a test run, grouped by virtual day. */
export function renderTimeline(result, stepsByKey, actions = {}) {
  const summary = result.status === "not_entered"
    ? `Not started: the entry conditions do not hold (${result.conditions}).`
    : `Ends ${endingWords(result.status, timelineWentPastADecline(result.timeline))} after ${result.duration || "0s"}${result.error ? `: ${result.error}` : ""}.`;
  const days = new Map();
  for (const entry of result.timeline || []) {
    if (!days.has(entry.day)) days.set(entry.day, []);
    days.get(entry.day).push(entry);
  }
  return h("div", { class: "ab-timeline" },
    h("p", { class: `ab-test-summary ab-test-summary--${result.status}` }, summary),
    h("p", { class: "ab-help" }, `Test mode: nothing was sent, charged or written. ${result.billing_data === false
      ? "Steps read the test data alone." : "Steps read current billing data where it has the record."}`),
    [...days.entries()].map(([day, entries]) => h("section", { class: "ab-day", "aria-label": `Day ${day}` },
      h("h4", { class: "ab-day__title" }, `Day ${day}`),
      h("ol", { class: "ab-day__entries" }, entries.map((entry) => h("li", {
        class: `ab-entry ab-entry--${entry.type}${entry.error ? " ab-entry--failed" : ""}`, "data-test-step": entry.step,
      },
        h("div", { class: "ab-entry__head" }, icon(iconName(stepsByKey[entry.step] || { type: entry.type, action: entry.action })),
          h("strong", {}, entry.step), entry.loop_index ? ` (item ${entry.loop_index})` : "",
          h("span", { class: "ab-entry__offset" }, ` +${entry.offset}`)),
        entryDetails(entry, actions), warnings(entry)))))));
}

// How many attempts a step may make: its own retry policy, else the automation's (the project's
// default is not known here: one attempt, then the prediction repeats).
function attemptsOf(app, step) {
  const policy = step.retry || app.definition().retry || {};
  return Math.max(1, Math.min(Number(policy.max_attempts) || 1, 5));
}

/** The scenario: for each action step, what each attempt answers instead of the prediction. */
function outcomesField(app, steps) {
  const chosen = app.state.testOutcomes || (app.state.testOutcomes = {});
  const rows = steps.filter((step) => step.type === "action" && app.catalog.actions[step.action]?.scenario_outcomes?.length)
    .map((step) => {
      const choices = [["", "as predicted from the data"], ...app.catalog.actions[step.action].scenario_outcomes.map((item) => [item.value, item.label])];
      const attempts = Array.from({ length: attemptsOf(app, step) }, (_, index) => {
        const id = `ab-outcome-${step.key}-${index + 1}`;
        const select = h("select", { id },
          choices.map(([value, label]) => h("option", { value, selected: (chosen[step.key] || [])[index] === value || undefined }, label)));
        select.addEventListener("change", () => {
          // Every attempt shown is sent, null where it answers as predicted: the server repeats
          // the last one listed for later attempts, so a trailing choice must not stand for them.
          const list = Array.from({ length: attempts.length }, (_, at) => (chosen[step.key] || [])[at] ?? null);
          list[index] = select.value || null;
          if (list.some(Boolean)) chosen[step.key] = list; else delete chosen[step.key];
        });
        return h("div", { class: "ab-field--inline" }, h("label", { for: id }, `attempt ${index + 1}`), select);
      });
      return h("fieldset", { class: "ab-outcome" },
        h("legend", {}, `${app.catalog.actions[step.action].label || step.action}: ${step.key}`), attempts);
    });
  if (!rows.length) return null;
  return h("details", { class: "ab-field", open: Object.keys(chosen).length > 0 || undefined },
    h("summary", {}, "What the actions answer"),
    h("p", { class: "ab-help" }, "Each attempt answers what the billing data predicts (a card on file that pays, pays), "
      + "unless you choose: a payment that is declined, a message that cannot be sent. Retries, fallback steps and "
      + "\"if it fails\" then run as they would live."),
    rows);
}

/** For each split step: the variant the test takes — the one the test data draws (as live), or A or B. */
function variantsField(app, steps) {
  const chosen = app.state.testVariants || (app.state.testVariants = {});
  const splits = steps.filter((step) => step.type === "split");
  if (!splits.length) return null;
  return h("fieldset", { class: "ab-field" }, h("legend", {}, "Which variant"),
    splits.map((step) => {
      const id = `ab-variant-${step.key}`;
      const select = h("select", { id }, [["", "as the test data draws it (as live)"], ["a", "Variant A"], ["b", "Variant B"]]
        .map(([value, label]) => h("option", { value, selected: (chosen[step.key] || "") === value || undefined }, label)));
      select.addEventListener("change", () => {
        if (select.value) chosen[step.key] = select.value; else delete chosen[step.key];
      });
      return h("div", { class: "ab-field--inline" }, h("label", { for: id }, `Variant at ${step.key}`), select);
    }),
    h("p", { class: "ab-help" }, "A split sends the same invoice (or customer) down the same variant every time: "
      + "the test takes the one a live run on this data takes, unless you choose."));
}

// A path's scenario in words: "retry: Pays; ask_finance: rejected; invoice.paid arrives".
function scenarioWords(app, scenario) {
  const steps = app.stepsByKey();
  const words = Object.entries(scenario.outcomes || {}).map(([key, [outcome]]) => {
    const choices = app.catalog.actions[steps[key]?.action]?.scenario_outcomes || [];
    return `${key}: ${choices.find((item) => item.value === outcome)?.label || outcome}`;
  });
  words.push(...Object.entries(scenario.decisions || {}).map(([key, decision]) =>
    `${key}: ${decision === "timed_out" ? "nobody decides" : decision}`));
  words.push(...(scenario.events || []).map((event) => `${event.type} arrives`));
  words.push(...Object.entries(scenario.variants || {}).map(([key, variant]) => `${key}: variant ${variant.toUpperCase()}`));
  return words.length ? words.join("; ") : "everything as predicted";
}

/** What "Test every path" found: each scenario that showed a new way on, and the ways none reached. */
export function renderPaths(app, found) {
  const steps = app.stepsByKey();
  const ways = (list) => list.map((way) => `${way.step}: ${way.way}`).join(", ");
  return h("div", { class: "ab-paths" },
    h("p", {}, `${found.paths.length} path${found.paths.length === 1 ? "" : "s"} from ${found.runs} test runs.`),
    h("ol", { class: "ab-paths__list" }, found.paths.map((path, index) => h("li", { class: "ab-path", "data-path": index },
      h("p", { class: "ab-path__scenario" }, h("strong", {}, scenarioWords(app, path.scenario))),
      labelled("Ends", `${endingWords(path.status, pathWentPastADecline(path.ways, steps))} after ${path.duration || "0s"}${path.error ? `: ${path.error}` : ""}`),
      labelled("Shows", ways(path.new)),
      path.messages.length ? labelled("Sends", path.messages.map((message) =>
        `${message.subject || message.action}${message.to ? ` to ${[].concat(message.to).join(", ")}` : ""}`).join("; ")) : null,
      h("button", { type: "button", class: "button", onclick: () => app.tests.showPath(path.scenario) }, "Show this path")))),
    found.unreached.length
      ? h("div", { class: "ab-paths__unreached" },
        h("p", {}, h("strong", {}, "No scenario reaches: "), ways(found.unreached)),
        h("p", { class: "ab-help" }, "These depend on the data (a branch on the invoice's status, say), not on what an "
          + "action answers: edit the test data to try them."))
      : h("p", {}, "Every way on is reached by a path above."));
}

export function testPanel(app) {
  const data = textField({
    field: "test.data", label: "test data", value: pretty(app.sampleData()), multiline: true, rows: 10,
    help: "The trigger's sample payload; edit it to try other cases.",
    onInput: (text) => {
      try {
        app.state.testData = JSON.parse(text);
        data.querySelector(".ab-errors").replaceChildren();
      } catch (error) {
        data.querySelector(".ab-errors").replaceChildren(h("li", {}, `not valid JSON yet: ${error.message}`));
      }
    },
  });
  const billing = h("input", { type: "checkbox", id: "ab-test-billing", checked: app.state.testBillingData !== false,
                                "aria-describedby": "ab-test-billing-help" });
  billing.addEventListener("change", () => { app.state.testBillingData = billing.checked; });
  const billingField = h("div", { class: "ab-field" },
    // The box beside its words, as every other tick box of the panel (a bare label takes a row of its own).
    h("div", { class: "ab-field--inline" }, billing, h("span", { class: "ab-inline-text" },
      h("label", { for: "ab-test-billing", class: "ab-label" }, "Read the billing data, as a real run does"))),
    h("p", { class: "ab-help", id: "ab-test-billing-help" },
      "A run reads customers, invoices and payments fresh from your billing data when it knows them, so an "
      + "edited test payload changes nothing for a record it has. Untick to use the test data alone."));
  const steps = Object.values(app.stepsByKey());
  const waits = steps.some((step) => step.type === "wait_for");
  const asks = steps.some((step) => step.type === "approval");
  // wait_for steps time out unless the test says an event comes: "invoice.paid after 2d", one a line
  const events = waits ? textField({
    field: "test.events", label: "events that arrive", multiline: true, rows: 2,
    value: (app.state.testEvents || []).map((item) => `${item.type} after ${item.after}`).join("\n"),
    help: "For wait_for steps: one a line, such as invoice.paid after 2d (from the start of the run). Without one a wait times out.",
    onInput: (text) => {
      app.state.testEvents = text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
        const [type, after] = line.split(/\s+after\s+/);
        return { type: type.trim(), after: (after || "0s").trim() };
      });
    },
  }) : null;
  const decision = asks ? selectField({
    field: "test.decision", label: "approval decision", value: app.state.testDecision || "approved",
    choices: [["approved", "approved"], ["rejected", "rejected"], ["timed_out", "nobody decides (timeout)"]],
    help: "What approval steps are answered in the test.",
    onChange: (value) => { app.state.testDecision = value; app.state.testDecisions = null; },
  }) : null;
  const outcomes = outcomesField(app, steps);
  const variants = variantsField(app, steps);
  const result = h("div", { class: "ab-test-result", "aria-live": "polite" });
  if (app.state.testRun) {
    result.append(app.state.testStale ? h("p", { class: "ab-help" }, "This result is from before your last edit.") : "",
      renderTimeline(app.state.testRun, app.stepsByKey(), app.catalog.actions));
  }
  return h("div", { class: "ab-test" },
    data, billingField, events, decision, variants, outcomes,
    h("div", { class: "ab-test__buttons" },
      h("button", { type: "button", class: "button default", "data-focus-id": "test:run", onclick: () => app.tests.run() }, "Run test"),
      h("button", { type: "button", class: "button", "data-focus-id": "test:paths", onclick: () => app.tests.everyPath() },
        "Test every path")),
    app.state.testPaths ? renderPaths(app, app.state.testPaths) : null,
    result);
}
