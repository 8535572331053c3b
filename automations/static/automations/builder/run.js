// The run view: an execution drawn on its version's flow — each step's status in words (succeeded,
// "declined — continued: …", waiting until …, not reached), the path taken, attempts with their
// input and output on click, the pending wake-up and the cancel reason, the run's approval requests
// (approve or reject with a comment); Resume now, Cancel (with a reason, required), Retry and Start a
// new run where permitted. A button that moves money or sends messages asks first and says what, in
// the server's words (``retry_effects``, ``approve_effects``, ``resume_now``, ``new_run``): the page
// only shows them.

import { Api } from "./ui/api.js";
import { announce, formatTime, h, pretty } from "./ui/dom.js";
import { renderFlow } from "./ui/flow.js";
import { lowerFirst } from "./state/labels.js";
import { useStepTypes } from "./state/step_types.js";
import { triggerLabel, useTriggerKinds } from "./state/trigger_kinds.js";
import { laneTaken } from "./state/tree.js";
import { summarizeConditions } from "./state/summary.js";

const config = JSON.parse(document.getElementById("ab-run-config").textContent);
const root = document.getElementById("ab-run");
const api = new Api(config.apiRoot, config.csrfToken);
const state = { execution: null, definition: null, automation: null, actions: {}, selected: null };

/** An approval request's status, and what its timeout decides, as people say them. */
const APPROVAL_STATUS = { pending: "Waiting for a decision", approved: "Approved", rejected: "Rejected",
                          timed_out: "Timed out", canceled: "Canceled (the run ended first)" };
const ON_TIMEOUT = { approved: "it is approved", rejected: "it is rejected" };

function decorate(key) {
  const execution = state.execution;
  if (key === "trigger") return { status: "succeeded", label: "started", detail: formatTime(execution.started_at) };
  if (key === "conditions") return { status: "succeeded", label: "passed" };
  const known = execution.step_states[key];
  if (!known) return { status: "not-reached", label: "not reached" };
  const detail = [known.attempts > 1 ? `${known.attempts} attempts` : "", known.runs > known.attempts ? `${known.runs} runs` : ""]
    .filter(Boolean).join(", ");
  return { status: known.status, label: known.label, detail };
}

/** "taken" for the lane of a branch or a split the run went down. */
function laneDecoration(key, slot) {
  const runs = state.execution.steps.filter((run) => run.step_key === key);
  return runs.some((run) => laneTaken(run.step_type, run.output) === slot) ? "taken" : null;
}

function attemptsOf(key) {
  return state.execution.steps.filter((run) => run.step_key === key);
}

function details(key) {
  if (!key) return h("p", { class: "ab-help" }, "Choose a step to see its attempts, with what went in and what came out.");
  if (key === "trigger" || key === "conditions") {
    const trigger = state.execution.trigger || {};
    const conditions = state.definition.conditions;
    const said = key === "conditions" ? (conditions ? `${summarizeConditions(conditions, { words: true })}: they held when the run started.`
      : "No entry conditions: every trigger starts a run.")
      : trigger.type === "event" ? `Started by the event ${trigger.event_type} (${trigger.event_id}) at ${formatTime(state.execution.started_at)}.`
      : trigger.type === "manual" ? `Started by hand by ${trigger.user || "a script"} at ${formatTime(state.execution.started_at)}.`
      : trigger.type === "schedule" ? `Started on schedule at ${formatTime(state.execution.started_at)}.`
      : `Started by ${lowerFirst(triggerLabel(trigger.type))} at ${formatTime(state.execution.started_at)}.`;
    return [h("h3", {}, key === "trigger" ? "Trigger" : "Entry conditions"), h("p", {}, said),
            h("details", {}, h("summary", {}, "As stored"),
              h("pre", { class: "ab-pre" }, pretty(key === "trigger" ? trigger : state.definition.conditions || {})))];
  }
  const runs = attemptsOf(key);
  const heading = h("h3", {}, "Step ", h("code", { class: "ab-key" }, key));
  if (!runs.length) return [heading, h("p", { class: "ab-help" }, "Not reached in this run.")];
  return [heading, h("ol", { class: "ab-attempts" }, runs.map((run) => h("li", { class: `ab-attempt ab-attempt--${run.status}` },
    h("p", {}, h("strong", {}, `Attempt ${run.attempt}${run.loop_index ? ` (item ${run.loop_index})` : ""}: ${run.label}`),
      ` · ${formatTime(run.started_at)}${run.finished_at ? ` → ${formatTime(run.finished_at)}` : ""}`),
    run.error ? h("p", { class: "ab-test-error" }, run.error) : null,
    run.input ? h("details", {}, h("summary", {}, "Input"), h("pre", { class: "ab-pre" }, pretty(run.input))) : null,
    run.output ? h("details", { open: true }, h("summary", {}, "Output"), h("pre", { class: "ab-pre" }, pretty(run.output))) : null)))];
}

/** Ask first (a native modal dialog): what the button will do, in words, the money it moves under
 * ``effectsTitle`` and the messages it sends. ``field`` is a form field the answer carries (the cancel
 * reason): ``check()`` says what is wrong with it, shown beside it while the dialog stays open. */
function confirmed(title, text, action, { effects = [], effectsTitle = "This moves money:", field = null, check = null } = {}) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "ab-dialog", "aria-labelledby": "ab-run-dialog-title" });
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const confirm = () => {
      const problem = check ? check() : "";
      if (!problem) {
        done(true);
        return;
      }
      const input = field.querySelector("textarea, input");
      const error = field.querySelector(".ab-field-error");
      error.textContent = problem;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", error.id);
      input.focus();
    };
    dialog.append(...[h("h2", { id: "ab-run-dialog-title" }, title), h("p", {}, text),
      effects.length ? h("div", { class: "ab-money" }, h("p", {}, h("strong", {}, effectsTitle)),
        h("ul", {}, effects.map((effect) => h("li", {}, effect)))) : null,
      field,
      h("div", { class: "ab-popover-buttons" },
        h("button", { type: "button", class: "button default", onclick: confirm }, action),
        h("button", { type: "button", class: "ab-link-button", onclick: () => done(false) }, "Keep it as it is"))]
      .filter(Boolean));
    dialog.addEventListener("cancel", () => done(false));
    document.body.append(dialog);
    dialog.showModal();
    (dialog.querySelector("textarea") || dialog.querySelector("button")).focus();
  });
}

async function act(label, path, body) {
  try {
    const answer = await api.post(path, body);
    announce(`${label}: done.`);
    if (path.endsWith("/run/")) {
      window.location.href = config.urls.execution.replace("/0/", `/${answer.id}/`);
      return;
    }
    window.location.reload(); // the page's own facts (status, reason) are drawn by the server
  } catch (error) {
    root.querySelector(".ab-run-errors").replaceChildren(h("li", {}, `${label}: ${error.message}`));
  }
}

const capital = (text) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;

function resumeButton(execution, resume) {
  return h("button", { type: "button", class: "button", onclick: async () => {
    if (await confirmed(resume.title || `Resume execution #${execution.id} now?`,
      `${capital(resume.text)}. It happens in this same run: the steps it has already done are not repeated.`,
      resume.action || "Resume now", { effects: resume.effects })) {
      await act("Resume now", config.actions.resume_now);
    }
  } }, "Resume now");
}

function cancelButton(execution) {
  return h("button", { type: "button", class: "button", onclick: async () => {
    const reason = h("textarea", { id: "ab-cancel-reason", rows: 2, maxlength: 400, "aria-required": "true" });
    const field = h("div", { class: "ab-field" },
      h("label", { for: "ab-cancel-reason" }, "Reason (required, recorded with your name)"), reason,
      h("p", { class: "ab-field-error", id: "ab-cancel-reason-error", "aria-live": "polite" }));
    const check = () => (reason.value.trim() ? "" : "Say why the run is canceled: the reason is recorded with your name.");
    if (await confirmed(`Cancel execution #${execution.id}?`, "Its remaining steps will not run; what it already did stays done.",
      "Cancel the execution", { field, check })) {
      await act("Cancel", config.actions.cancel, { reason: reason.value });
    }
  } }, "Cancel execution");
}

function retryButton(execution) {
  return h("button", { type: "button", class: "button", onclick: async () => {
    const effects = execution.retry_effects || [];
    const text = "The failed step makes its next attempt now, in this same run, and the run goes on from it"
      + (effects.length ? "." : "; it moves no money before its next wait.");
    if (await confirmed(`Retry execution #${execution.id} from the failed step?`, text, "Retry from the failed step", { effects })) {
      await act("Retry", `executions/${execution.id}/retry/`);
    }
  } }, "Retry from the failed step");
}

function newRunButton(execution, automation, preview) {
  return h("button", {
    type: "button", class: "button", title: "Start a new execution of the active version with this run's data",
    onclick: async () => {
      if (await confirmed(`Start a new run of ${automation.name}?`, preview.text, "Start a new run",
        { effects: preview.effects, effectsTitle: "It may move money:" })) {
        await act("Start a new run", `automations/${automation.id}/run/`, { data: execution.data });
      }
    },
  }, "Start a new run");
}

function buttons() {
  const { execution, automation } = state;
  const live = execution.status === "running" || execution.status === "waiting";
  const perms = config.permissions;
  const resume = execution.resume_now;
  const preview = execution.new_run;
  const startable = perms.runExecution && automation?.status === "active" && preview;
  return h("div", { class: "ab-run-actions", role: "group", "aria-label": "Execution actions" },
    resume && perms.changeExecution && resume.allowed ? resumeButton(execution, resume) : null,
    live && perms.changeExecution ? cancelButton(execution) : null,
    execution.status === "failed" && perms.changeExecution && !execution.retry_refused ? retryButton(execution) : null,
    startable && preview.allowed ? newRunButton(execution, automation, preview) : null,
    resume && perms.changeExecution && !resume.allowed ? h("p", { class: "ab-help ab-resume-refused" }, `Resume now: ${resume.text}.`) : null,
    startable && !preview.allowed ? h("p", { class: "ab-help ab-resume-refused" }, `Start a new run: not now, ${preview.text}.`) : null,
    execution.status === "failed" && perms.changeExecution && execution.retry_refused
      ? h("p", { class: "ab-help ab-resume-refused" }, `Retry from the failed step is not offered: ${execution.retry_refused}.`) : null);
}

/** The run's approval requests: what is asked, about whom, and the decision (or its buttons). */
function approvals() {
  const requests = state.execution.approvals || [];
  if (!requests.length) return null;
  const about = (details) => {
    const customer = details.customer ? `${details.customer.name || details.customer.id}` : "";
    const invoice = details.invoice
      ? `invoice ${details.invoice.number || details.invoice.id}${details.invoice.amount_due != null ? `, ${details.invoice.amount_due} ${details.invoice.currency || ""} due` : ""}` : "";
    return [customer, invoice].filter(Boolean).join(" · ");
  };
  return h("section", { class: "ab-approvals", "aria-label": "Approval requests" },
    h("h3", {}, "Approval requests"),
    h("ul", {}, requests.map((request) => {
      const comment = h("textarea", { rows: 2, id: `ab-approval-comment-${request.id}` });
      const decide = async (verb) => {
        const effects = verb === "approve" ? request.approve_effects || [] : [];
        if (effects.length && !await confirmed(`Approve: ${request.ask}`,
          "The run goes on at once with the approval and takes its approved way.", "Approve and move the money", { effects })) return;
        await act(verb === "approve" ? "Approve" : "Reject", `approvals/${request.id}/${verb}/`, { comment: comment.value });
      };
      const open = request.status === "pending" && state.execution.status === "waiting";
      const decided = `${APPROVAL_STATUS[request.status] || request.status}${request.decided_by ? ` by ${request.decided_by}` : ""}`;
      return h("li", { class: `ab-approval ab-approval--${request.status}`, "data-approval": request.id },
        h("p", {}, h("strong", {}, request.ask), " · step ", h("code", { class: "ab-key" }, request.step_key),
          about(request.details || {}) ? ` · ${about(request.details || {})}` : ""),
        open
          ? (config.permissions.decideApproval
            ? h("div", { class: "ab-approval-decide" },
              h("label", { for: `ab-approval-comment-${request.id}` }, "Comment"), comment,
              (request.approve_effects || []).length ? h("p", { class: "ab-help" }, `Approving moves money: ${request.approve_effects.join("; ")}.`) : null,
              h("div", { class: "ab-popover-buttons" },
                h("button", { type: "button", class: "button default", onclick: () => decide("approve") }, "Approve"),
                h("button", { type: "button", class: "button", onclick: () => decide("reject") }, "Reject")),
              request.expires_at ? h("p", { class: "ab-help" }, `Without a decision by ${formatTime(request.expires_at)}, ${ON_TIMEOUT[request.on_timeout] || "it times out"}.`) : null)
            : h("p", { class: "ab-help" }, "Waiting for a decision by someone allowed to decide approvals."))
          : h("p", {}, `${decided}${request.comment ? `: ${request.comment}` : ""}`));
    })));
}

function draw() {
  const { execution } = state;
  const view = {
    mode: "run", canEdit: false, selected: state.selected, collapsed: new Set(), actions: state.actions,
    words: true, decorate, laneDecoration,
  };
  const pendingApproval = (execution.approvals || []).some((request) => request.status === "pending");
  const summary = execution.status === "waiting" && pendingApproval
    ? `Waiting for a decision${execution.wake_at ? ` (at the latest until ${formatTime(execution.wake_at)})` : ""}.`
    : execution.status === "waiting" && execution.wake_at
    ? `Waiting: the next step runs at ${formatTime(execution.wake_at)}.`
    : execution.ending ? `${execution.ending.label}.` : "Running now.";
  const flow = renderFlow(state.definition, view);
  root.replaceChildren(
    h("div", { class: "ab-run-head" }, h("p", { class: `ab-run-summary ab-status--${execution.status}` }, summary), buttons(),
      h("ul", { class: "ab-errors ab-run-errors", "aria-live": "polite" }), approvals()),
    h("div", { class: "ab-run-body" }, h("div", { class: "ab-canvas" }, flow),
      h("aside", { class: "ab-panel ab-run-details", "aria-label": "Step details", "aria-live": "polite" }, details(state.selected))));
  flow.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action='select']");
    if (!button) return;
    state.selected = button.dataset.target;
    draw();
    root.querySelector(`[data-focus-id="${CSS.escape(`${state.selected}:select`)}"]`)?.focus();
  });
}

async function load() {
  state.execution = await api.get(`executions/${config.executionId}/`);
  const [version, automation, actions, stepTypes, triggerKinds] = await Promise.all([
    api.get(`automations/${config.automationId}/versions/${state.execution.version}/`),
    api.get(`automations/${config.automationId}/`),
    api.listAll("actions/"),
    api.listAll("step-types/"),
    api.listAll("trigger-kinds/"),
  ]);
  useStepTypes(stepTypes);
  useTriggerKinds(triggerKinds);
  state.definition = version.definition;
  state.automation = automation;
  state.actions = Object.fromEntries(actions.map((action) => [action.action, action]));
  draw();
}

load().catch((error) => root.replaceChildren(h("p", { class: "ab-errors-inline" }, `The run view could not load: ${error.message}`)));
