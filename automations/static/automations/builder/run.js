// The run view: an execution drawn on its version's flow — each step's status (succeeded, failed,
// waiting until …, not reached), the path taken, attempts with their input and output on click,
// the pending wake-up and the cancel reason, the run's approval requests (approve or reject with a
// comment); Resume now, Cancel (with a reason), Retry and Start a new run where permitted. A button
// that moves money asks first and says what it moves, in the server's words (``retry_effects``,
// ``approve_effects``, ``resume_now.effects``): the page only shows them.

import { Api } from "./ui/api.js";
import { announce, formatTime, h, pretty } from "./ui/dom.js";
import { renderFlow } from "./ui/flow.js";

const config = JSON.parse(document.getElementById("ab-run-config").textContent);
const root = document.getElementById("ab-run");
const api = new Api(config.apiRoot, config.csrfToken);
const state = { execution: null, definition: null, automation: null, actions: {}, selected: null };

const STATUS_LABELS = { succeeded: "succeeded", failed: "failed", running: "running", waiting: "waiting",
                        retrying: "retrying", interrupted: "interrupted" };

function decorate(key) {
  const execution = state.execution;
  if (key === "trigger") return { status: "succeeded", label: "started", detail: formatTime(execution.started_at) };
  if (key === "conditions") return { status: "succeeded", label: "passed" };
  const known = execution.step_states[key];
  if (!known) return { status: "not-reached", label: "not reached" };
  const detail = [known.attempts > 1 ? `${known.attempts} attempts` : "", known.runs > known.attempts ? `${known.runs} runs` : ""]
    .filter(Boolean).join(", ");
  return { status: STATUS_LABELS[known.status] || known.status, label: known.label, detail };
}

function branchTaken(key, slot) {
  const runs = state.execution.steps.filter((run) => run.step_key === key && run.step_type === "branch");
  return runs.some((run) => run.output?.branch === slot) ? "taken" : null;
}

function attemptsOf(key) {
  return state.execution.steps.filter((run) => run.step_key === key);
}

function details(key) {
  if (!key) return h("p", { class: "ab-help" }, "Choose a step to see its attempts, with what went in and what came out.");
  if (key === "trigger" || key === "conditions") {
    return [h("h3", {}, key === "trigger" ? "Trigger" : "Entry conditions"),
            h("pre", { class: "ab-pre" }, pretty(key === "trigger" ? state.execution.trigger : state.definition.conditions || {}))];
  }
  const runs = attemptsOf(key);
  if (!runs.length) return [h("h3", {}, key), h("p", { class: "ab-help" }, "Not reached in this run.")];
  return [h("h3", {}, key), h("ol", { class: "ab-attempts" }, runs.map((run) => h("li", { class: `ab-attempt ab-attempt--${run.status}` },
    h("p", {}, h("strong", {}, `Attempt ${run.attempt}${run.loop_index ? ` (item ${run.loop_index})` : ""}: ${run.status}`),
      ` · ${formatTime(run.started_at)}${run.finished_at ? ` → ${formatTime(run.finished_at)}` : ""}`),
    run.error ? h("p", { class: "ab-test-error" }, run.error) : null,
    run.input ? h("details", {}, h("summary", {}, "Input"), h("pre", { class: "ab-pre" }, pretty(run.input))) : null,
    run.output ? h("details", { open: true }, h("summary", {}, "Output"), h("pre", { class: "ab-pre" }, pretty(run.output))) : null)))];
}

/** Ask first (a native modal dialog): what the button will do, in words; ``extra`` is a field the
 * answer carries (the cancel reason), read when the action is confirmed. */
function confirmed(title, text, action, { effects = [], extra = null } = {}) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "ab-dialog", "aria-labelledby": "ab-run-dialog-title" });
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog.append(...[h("h2", { id: "ab-run-dialog-title" }, title), h("p", {}, text),
      effects.length ? h("div", { class: "ab-money" }, h("p", {}, h("strong", {}, "This moves money:")),
        h("ul", {}, effects.map((effect) => h("li", {}, effect)))) : null,
      extra,
      h("div", { class: "ab-popover-buttons" },
        h("button", { type: "button", class: "button default", onclick: () => done(true) }, action),
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

function buttons() {
  const { execution, automation } = state;
  const live = execution.status === "running" || execution.status === "waiting";
  const perms = config.permissions;
  const resume = execution.resume_now;
  return h("div", { class: "ab-run-actions", role: "group", "aria-label": "Execution actions" },
    resume && perms.changeExecution && resume.allowed ? h("button", { type: "button", class: "button", onclick: async () => {
      if (await confirmed(`Resume execution #${execution.id} now?`,
        `${capital(resume.text)}, in this same run: nothing it has already done runs again.`, "Resume now",
        { effects: resume.effects })) {
        await act("Resume now", config.actions.resume_now);
      }
    } }, "Resume now") : null,
    live && perms.changeExecution ? h("button", { type: "button", class: "button", onclick: async () => {
      const reason = h("textarea", { id: "ab-cancel-reason", rows: 2, maxlength: 400 });
      const field = h("div", { class: "ab-field" }, h("label", { for: "ab-cancel-reason" }, "Reason (recorded with your name)"), reason);
      if (await confirmed(`Cancel execution #${execution.id}?`, "Its remaining steps will not run; what it already did stays done.",
        "Cancel the execution", { extra: field })) {
        await act("Cancel", config.actions.cancel, { reason: reason.value });
      }
    } }, "Cancel execution") : null,
    execution.status === "failed" && perms.changeExecution ? h("button", { type: "button", class: "button", onclick: async () => {
      const effects = execution.retry_effects || [];
      const text = effects.length ? "The failed step runs again now, in this same run, and the run goes on from it."
        : "The failed step runs again now, in this same run, and the run goes on from it; it moves no money before its next wait.";
      if (await confirmed(`Retry execution #${execution.id} from the failed step?`, text, "Retry from the failed step", { effects })) {
        await act("Retry", `executions/${execution.id}/retry/`);
      }
    } }, "Retry from the failed step") : null,
    perms.runExecution && automation?.status === "active" ? h("button", {
      type: "button", class: "button", title: "Start a new execution of the active version with this run's data",
      onclick: async () => {
        const text = `A new execution of ${automation.name} (version ${automation.active_version}) starts from its first step `
          + "with this execution's data: its emails are sent and its payments tried again. This execution is not changed.";
        if (await confirmed("Start a new run now?", text, "Start a new run")) {
          await act("Start a new run", `automations/${automation.id}/run/`, { data: execution.data });
        }
      },
    }, "Start a new run") : null,
    resume && perms.changeExecution && !resume.allowed ? h("p", { class: "ab-help ab-resume-refused" }, `Resume now: ${resume.text}.`) : null);
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
          "The run goes on at once with the approval and takes its approved way.", "Approve", { effects })) return;
        await act(verb === "approve" ? "Approve" : "Reject", `approvals/${request.id}/${verb}/`, { comment: comment.value });
      };
      const open = request.status === "pending" && state.execution.status === "waiting";
      return h("li", { class: `ab-approval ab-approval--${request.status}`, "data-approval": request.id },
        h("p", {}, h("strong", {}, request.ask), ` (${request.step_key}) · ${about(request.details || {})}`),
        open
          ? (config.permissions.decideApproval
            ? h("div", { class: "ab-approval-decide" },
              h("label", { for: `ab-approval-comment-${request.id}` }, "comment"), comment,
              h("div", { class: "ab-popover-buttons" },
                h("button", { type: "button", class: "button default", onclick: () => decide("approve") }, "Approve"),
                h("button", { type: "button", class: "button", onclick: () => decide("reject") }, "Reject")),
              request.expires_at ? h("p", { class: "ab-help" }, `Without a decision by ${formatTime(request.expires_at)}: ${request.on_timeout || "timed out"}.`) : null)
            : h("p", { class: "ab-help" }, "Waiting for a decision by a user with automations.decide_approval."))
          : h("p", {}, `${request.status}${request.decided_by ? ` by ${request.decided_by}` : ""}${request.comment ? `: ${request.comment}` : ""}`));
    })));
}

function draw() {
  const { execution } = state;
  const view = {
    mode: "run", canEdit: false, selected: state.selected, collapsed: new Set(), actions: state.actions,
    decorate, laneDecoration: branchTaken,
  };
  const pendingApproval = (execution.approvals || []).some((request) => request.status === "pending");
  const summary = execution.status === "waiting" && pendingApproval
    ? `Waiting for a decision${execution.wake_at ? ` (at the latest until ${formatTime(execution.wake_at)})` : ""}.`
    : execution.status === "waiting" && execution.wake_at
    ? `Waiting: the next step runs at ${formatTime(execution.wake_at)}.`
    : execution.ending ? `Ended ${execution.ending.label}.` : `Status: ${execution.status}.`;
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
  const [version, automation, actions] = await Promise.all([
    api.get(`automations/${config.automationId}/versions/${state.execution.version}/`),
    api.get(`automations/${config.automationId}/`),
    api.listAll("actions/"),
  ]);
  state.definition = version.definition;
  state.automation = automation;
  state.actions = Object.fromEntries(actions.map((action) => [action.action, action]));
  draw();
}

load().catch((error) => root.replaceChildren(h("p", { class: "ab-errors-inline" }, `The run view could not load: ${error.message}`)));
