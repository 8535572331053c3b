// The side panel's form for each step type: action (config from its JSON Schema, retries,
// on_failure), delay, branch, loop, stop, wait_for and approval have their own; any other type (a
// host's) gets a form drawn from its fields' JSON Schema in the step-type catalogue, with its lanes.
// Each edit goes through app.editStep, one undo step per field (typing in a field is one step).

import { h } from "./dom.js";
import { conditionEditor } from "./condition_editor.js";
import { emailPanel } from "./email_editor.js";
import { checkboxField, eventCheckboxes, legend, selectField, textField } from "./fields.js";
import { retryPolicyFields } from "./retry_fields.js";
import { sendWindowFields } from "./message_forms.js";
import { ownFieldsForm, schemaForm } from "./schema_form.js";
import { takesSendWindow } from "../state/messaging.js";
import { laneName, startingFields, stepType } from "../state/step_types.js";
import { subjectOf } from "../state/labels.js";

const COLLECTIONS = ["customers", "invoices", "subscriptions"];

function retryFields(app, step, readOnly) {
  return retryPolicyFields({
    policy: step.retry || {}, readOnly, title: "Retries",
    help: "Only errors that can succeed later are retried (timeouts, 5xx, a payment processor that is down). Empty fields use the automation's policy.",
    onChange: (name, value) => {
      const next = { ...(app.step(step.key).retry || {}), [name]: value };
      if (value === undefined || value === "") delete next[name];
      app.editStep(step.key, { retry: Object.keys(next).length ? next : undefined }, `${step.key}:retry.${name}`);
    },
  });
}

function actionForm(app, step, readOnly) {
  const action = app.catalog.actions[step.action];
  if (!action) {
    return h("p", { class: "ab-errors-inline" }, `The action ${step.action} is not registered on this server.`);
  }
  const change = (name, value, remove = [], extra = {}) => {
    const config = { ...(app.step(step.key).config || {}) };
    for (const field of remove) delete config[field];
    Object.assign(config, extra);
    if (value === undefined) delete config[name];
    else config[name] = value;
    app.editStep(step.key, { config }, remove.length ? null : `${step.key}:config.${name}`);
  };
  const picker = () => app.variables(step.key);
  return [
    h("p", { class: "ab-help" }, action.description),
    step.action === "send_email"
      ? emailPanel(app, step, action, change, readOnly)
      : schemaForm({ action, config: step.config, readOnly, picker, onChange: change, skip: ["send_window"] }),
    takesSendWindow(action) ? sendWindowFields(app, step, readOnly) : null,
    h("fieldset", { class: "ab-fieldset" }, h("legend", {}, "When it fails"),
      selectField({ field: "on_failure", label: "Then", code: "on_failure", value: step.on_failure || "fail", readOnly,
                    choices: [["fail", "fail the run"], ["continue", "continue with the next step"]],
                    help: "After retries and fallback steps, if any.",
                    onChange: (value) => app.editStep(step.key, { on_failure: value === "fail" ? undefined : value }) }),
      readOnly ? null : h("button", { type: "button", class: "button", "data-focus-id": `${step.key}:add-fallback`,
                                      onclick: (event) => app.openInsert(event.currentTarget, { owner: step.key, slot: "fallback" },
                                        (step.fallback || []).length) }, "Add a fallback step"),
      retryFields(app, step, readOnly)),
  ];
}

function delayForm(app, step, readOnly) {
  const picker = () => app.variables(step.key);
  const mode = step.until !== undefined ? "until" : "duration";
  const set = (changes, group) => app.editStep(step.key, changes, group);
  const switchTo = (next) => {
    if (next === "until") set({ duration: undefined, until: "{{ subscription.current_period_end }}" });
    else set({ until: undefined, offset: undefined, duration: startingFields("delay").duration });
    app.renderPanel();
  };
  const radio = (value, label) => h("label", { class: "ab-radio" },
    h("input", { type: "radio", name: `delay-${step.key}`, value, checked: mode === value, disabled: readOnly,
                 onchange: () => switchTo(value) }), ` ${label}`);
  return [
    h("fieldset", { class: "ab-choice" }, h("legend", {}, "Wait"), radio("duration", "for a while"), radio("until", "until a date")),
    mode === "duration"
      ? textField({ field: "duration", label: "duration", value: step.duration, readOnly, required: true,
                    help: "A number and a unit: 30s (seconds), 15m (minutes), 24h (hours), 3d (days), 2w (weeks).",
                    onInput: (text) => set({ duration: text }, `${step.key}:duration`) })
      : [textField({ field: "until", label: "until", value: step.until, readOnly, picker, required: true,
                     help: "A date-time, or a template such as {{ subscription.current_period_end }}.",
                     onInput: (text) => set({ until: text }, `${step.key}:until`) }),
         textField({ field: "offset", label: "offset", value: step.offset, readOnly, placeholder: "-7d",
                     help: "Before (-7d) or after (2h) that date.",
                     onInput: (text) => set({ offset: text || undefined }, `${step.key}:offset`) })],
    textField({ field: "at", label: "at", value: step.at, readOnly, placeholder: "HH:MM",
                help: "Then wait for this time of day (HH:MM) in the customer's timezone (optional).",
                onInput: (text) => set({ at: text || undefined }, `${step.key}:at`) }),
  ];
}

/** A step's lanes in its panel: how many steps each holds, a button to add one, and the
 *  server's problems with the lane (a branch with no steps in either) beside it. */
function laneFields(app, step, readOnly, slots) {
  return h("fieldset", { class: "ab-fieldset ab-lanes-field" }, h("legend", {}, "Steps inside"),
    slots.map((slot) => {
      const label = laneName(slot, step.type);
      const count = (step[slot] || []).length;
      return h("div", { class: "ab-field ab-lane-field", "data-field": slot },
        h("p", { class: "ab-lane-field__count" }, `${label}: ${count ? `${count} step${count === 1 ? "" : "s"}` : "no steps yet"}`),
        readOnly ? null : h("button", {
          type: "button", class: "button", "data-focus-id": `${step.key}:add-${slot}`,
          onclick: (event) => app.openInsert(event.currentTarget, { owner: step.key, slot }, count),
        }, `Add a step to ${label}`),
        h("ul", { class: "ab-errors", "aria-live": "polite" }));
    }));
}

function branchForm(app, step, readOnly) {
  return [
    h("p", { class: "ab-help" }, "Reached with the data as it is at that moment (an invoice paid meanwhile reads as paid)."),
    conditionEditor({
      condition: step.if, prefix: "if", readOnly, paths: app.paths(step.key), fieldInfo: app.fieldInfo(step.key),
      title: "Take the Then lane when:", empty: "No condition yet: add one to choose between the lanes.",
      onChange: (condition, group) => app.editStep(step.key, { if: condition || { all: [] } }, group && `${step.key}:${group}`),
    }),
    laneFields(app, step, readOnly, ["then", "else"]),
  ];
}

function loopForm(app, step, readOnly) {
  const overCollection = Boolean(step.over) && typeof step.over === "object";
  const set = (changes, group) => app.editStep(step.key, changes, group);
  const radio = (value, label) => h("label", { class: "ab-radio" },
    h("input", { type: "radio", name: `loop-${step.key}`, value, checked: overCollection === (value === "collection"),
                 disabled: readOnly, onchange: () => {
                   set({ over: value === "collection" ? { collection: "customers" } : "", as: value === "collection" ? "customer" : "item" });
                   app.renderPanel();
                 } }), ` ${label}`);
  const lists = app.paths(step.key).filter((path) => app.fieldInfo(step.key)(path).type === "list");
  const listId = `lists-${step.key}`;
  return [
    h("fieldset", { class: "ab-choice" }, h("legend", {}, "For each"), radio("list", "item of a list in the data"),
      radio("collection", "record of a collection")),
    overCollection
      ? [selectField({ field: "over.collection", label: "collection", value: step.over.collection, choices: COLLECTIONS,
                       readOnly, onChange: (value) => set({ over: { ...app.step(step.key).over, collection: value } }) }),
         conditionEditor({
           condition: step.over.where, prefix: "over.where", readOnly, title: `Only the ${step.over.collection} where:`,
           paths: app.paths(step.key), fieldInfo: app.fieldInfo(step.key),
           onChange: (where, group) => {
             const over = { ...app.step(step.key).over, where };
             if (!where) delete over.where;
             set({ over }, group && `${step.key}:${group}`);
           },
         })]
      : [h("datalist", { id: listId }, lists.map((path) => h("option", { value: path }))),
         textField({ field: "over", label: "over", value: step.over, readOnly, list: listId, required: true,
                     help: "A list field such as invoice.line_items.",
                     onInput: (text) => set({ over: text }, `${step.key}:over`) })],
    textField({ field: "as", label: "as", value: step.as || "item", readOnly,
                help: "The name of each item inside the loop.", onInput: (text) => set({ as: text }, `${step.key}:as`) }),
    textField({ field: "max_items", label: "max_items", type: "number", value: step.max_items, readOnly,
                help: "At most this many items (default 1000).",
                onInput: (text) => set({ max_items: text === "" ? undefined : Number(text) }, `${step.key}:max_items`) }),
    laneFields(app, step, readOnly, ["steps"]),
  ];
}

function stopForm(app, step, readOnly) {
  return selectField({ field: "status", label: "status", value: step.status || "succeeded", readOnly,
                       choices: ["succeeded", "failed", "canceled"], help: "How the run ends here.",
                       onChange: (value) => app.editStep(step.key, { status: value === "succeeded" ? undefined : value }) });
}

// A wait's limit: a timeout (duration) or until a date (with an offset); ``optional`` adds "no limit".
function waitLimitFields(app, step, readOnly, optional = false) {
  const picker = () => app.variables(step.key);
  const mode = step.until !== undefined ? "until" : step.timeout !== undefined || !optional ? "timeout" : "none";
  const set = (changes, group) => app.editStep(step.key, changes, group);
  const switchTo = (next) => {
    if (next === "until") set({ timeout: undefined, until: "{{ invoice.due_date }}" });
    else if (next === "timeout") set({ until: undefined, offset: undefined, timeout: startingFields("wait_for").timeout });
    else set({ until: undefined, offset: undefined, timeout: undefined, on_timeout: undefined });
    app.renderPanel();
  };
  const radio = (value, label) => h("label", { class: "ab-radio" },
    h("input", { type: "radio", name: `limit-${step.key}`, value, checked: mode === value, disabled: readOnly,
                 onchange: () => switchTo(value) }), ` ${label}`);
  return [
    h("fieldset", { class: "ab-choice" }, h("legend", {}, "Give up"),
      optional ? radio("none", "never") : null, radio("timeout", "after a while"), radio("until", "at a date")),
    mode === "timeout"
      ? textField({ field: "timeout", label: "timeout", value: step.timeout, readOnly, required: true,
                    help: "How long to wait at most: 30s (seconds), 15m (minutes), 24h (hours), 3d (days), 2w (weeks).",
                    onInput: (text) => set({ timeout: text }, `${step.key}:timeout`) })
      : null,
    mode === "until"
      ? [textField({ field: "until", label: "until", value: step.until, readOnly, picker, required: true,
                     help: "A date-time, or a template such as {{ invoice.due_date }}.",
                     onInput: (text) => set({ until: text }, `${step.key}:until`) }),
         textField({ field: "offset", label: "offset", value: step.offset, readOnly, placeholder: "3d",
                     help: "Before (-1d) or after (3d) that date.",
                     onInput: (text) => set({ offset: text || undefined }, `${step.key}:offset`) })]
      : null,
  ];
}

function waitForForm(app, step, readOnly) {
  const chosen = new Set(step.events || []);
  const toggle = (type, on) => {
    const next = new Set(app.step(step.key).events || []);
    if (on) next.add(type);
    else next.delete(type);
    app.editStep(step.key, { events: [...next] });
  };
  return [
    h("p", { class: "ab-help" }, `Goes on when one of these events arrives about the same ${subjectOf(app.definition().correlation_key)} as this run (Settings: what a run is about), or when the wait gives up. A branch after it can tell which: the step's output has the event, or says it timed out.`),
    h("fieldset", { class: "ab-fieldset", "data-field": "events" }, legend("Events to wait for", "events"),
      eventCheckboxes({ field: "events", eventTypes: app.catalog.eventTypes, chosen, readOnly, onToggle: toggle }),
      h("ul", { class: "ab-errors", "aria-live": "polite" })),
    waitLimitFields(app, step, readOnly),
  ];
}

function approvalForm(app, step, readOnly) {
  const picker = () => app.variables(step.key);
  const set = (changes, group) => app.editStep(step.key, changes, group);
  const notify = step.notify || [];
  const channelOn = (channel) => notify.find((item) => item.channel === channel);
  const setNotify = (channel, item) => {
    const rest = (app.step(step.key).notify || []).filter((entry) => entry.channel !== channel);
    const next = item ? [...rest, item] : rest;
    set({ notify: next.length ? next : undefined }, `${step.key}:notify.${channel}`);
  };
  const email = channelOn("email");
  const hasLimit = step.timeout !== undefined || step.until !== undefined;
  return [
    h("p", { class: "ab-help" }, "The run waits for a decision by a user with the approvers' permission, in the admin, the run view or the API. The step's output is {decision, by, comment}."),
    textField({ field: "ask", label: "ask", value: step.ask, readOnly, picker, required: true, multiline: true,
                help: "The question, such as Write off {{ invoice.number }}?",
                onInput: (text) => set({ ask: text }, `${step.key}:ask`) }),
    textField({ field: "approvers.permission", label: "approvers' permission",
                value: (step.approvers || {}).permission || "automations.decide_approval", readOnly,
                help: "Who may decide (they need automations.decide_approval too).",
                onInput: (text) => set({ approvers: { ...(app.step(step.key).approvers || {}), permission: text } },
                                       `${step.key}:approvers`) }),
    h("fieldset", { class: "ab-fieldset", "data-field": "notify" }, h("legend", {}, "Notify"),
      checkboxField({ field: "notify.email", label: "by email", checked: Boolean(email), readOnly,
                      onChange: (on) => { setNotify("email", on ? { channel: "email", to: "finance@example.com" } : null); app.renderPanel(); } }),
      email ? textField({ field: "notify.email.to", label: "to", value: email.to, readOnly, picker,
                          onInput: (text) => setNotify("email", { ...channelOn("email"), to: text }) }) : null,
      checkboxField({ field: "notify.slack", label: "on Slack", checked: Boolean(channelOn("slack")), readOnly,
                      onChange: (on) => setNotify("slack", on ? { channel: "slack" } : null) })),
    waitLimitFields(app, step, readOnly, true),
    hasLimit
      ? selectField({ field: "on_timeout", label: "When nobody decides in time", code: "on_timeout",
                      value: step.on_timeout || "", readOnly, blank: "timed out (no decision)",
                      choices: ["approved", "rejected"], help: "The decision taken when nobody decides in time.",
                      onChange: (value) => set({ on_timeout: value || undefined }) })
      : null,
  ];
}

/** A type with no form of its own: its fields from the catalogue's schema, then its lanes. */
function describedForm(app, step, readOnly) {
  const described = stepType(step.type);
  if (!described) {
    return h("p", { class: "ab-errors-inline" }, `The step type ${step.type} is not registered on this server.`);
  }
  return [
    described.description ? h("p", { class: "ab-help" }, described.description) : null,
    ownFieldsForm({ schema: described.schema, values: step, readOnly, picker: () => app.variables(step.key),
                     onChange: (name, value) => app.editStep(step.key, { [name]: value }, `${step.key}:${name}`) }),
    described.lanes?.length ? laneFields(app, step, readOnly, described.lanes) : null,
  ];
}

// The built-in types' own forms: richer than a schema can draw (a condition editor, the event
// catalogue's words, an email's preview).
const FORMS = { action: actionForm, delay: delayForm, branch: branchForm, loop: loopForm, stop: stopForm,
                wait_for: waitForForm, approval: approvalForm };

/** The form of the step ``key`` (its key field first). */
export function stepForm(app, step, readOnly) {
  const keyField = textField({
    field: "key", label: "key", value: step.key, readOnly,
    help: "How logs, outputs (steps.<key>.output) and versions name this step. References are renamed with it.",
    onInput: () => {},
  });
  const input = keyField.querySelector("input");
  input.addEventListener("change", () => app.renameStep(step.key, input.value.trim(), keyField));
  const form = FORMS[step.type] || describedForm;
  return [keyField, form(app, step, readOnly)];
}
