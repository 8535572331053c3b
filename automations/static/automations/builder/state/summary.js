// One-line summaries a person reads on each card: "Send email payment_failed_gentle to
// {{ customer.email }}", "If invoice status equals open", "wait 3 days", "When payment attempt
// failed" — events by the catalogue's words (``eventTypes``; their keys without one). The built-in
// step types have their own summaries here; any other type (a host's) is summed up by the templates
// the server's step-type catalogue gives for it. Pure.

import { eventLabel, fieldWords, lowerFirst } from "./labels.js";
import { describeWindow } from "./messaging.js";
import { flowStepLabel, stepType } from "./step_types.js";
import { triggerKind, triggerLabel } from "./trigger_kinds.js";

const UNITS = { s: "second", m: "minute", h: "hour", d: "day", w: "week" };
const ISO_UNITS = [["Y", "year"], ["M", "month"], ["W", "week"], ["D", "day"]];
const ISO_TIME_UNITS = [["H", "hour"], ["M", "minute"], ["S", "second"]];

function plural(count, unit) {
  return `${count} ${unit}${Number(count) === 1 ? "" : "s"}`;
}

/** "3d" -> "3 days", "PT1H30M" -> "1 hour 30 minutes", "-7d" -> "-7 days"; other text as is. */
export function humanDuration(value) {
  if (typeof value !== "string") return String(value ?? "");
  const text = value.trim();
  const short = /^(-?)(\d+)\s*([smhdw])$/.exec(text);
  if (short) return `${short[1]}${plural(Number(short[2]), UNITS[short[3]])}`;
  const iso = /^(-?)P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text);
  if (iso && text.length > 1 + iso[1].length) {
    const counts = iso.slice(2);
    const names = [...ISO_UNITS, ...ISO_TIME_UNITS].map(([, name]) => name);
    const parts = counts.map((count, i) => (count ? plural(Number(count), names[i]) : null)).filter(Boolean);
    if (parts.length) return `${iso[1]}${parts.join(" ")}`;
  }
  return text;
}

/** What a step is called on its card and in its panel's title: "Wait for event", an action's label. */
export function stepTypeLabel(step, actions = {}) {
  if (step.type === "action") return actions?.[step.action]?.label || step.action || "Action";
  return flowStepLabel(step.type) || step.type || "Step";
}

export const OPERATOR_LABELS = {
  equals: "equals",
  not_equals: "does not equal",
  greater_than: "is greater than",
  greater_than_or_equal: "is at least",
  less_than: "is less than",
  less_than_or_equal: "is at most",
  contains: "contains",
  not_contains: "does not contain",
  starts_with: "starts with",
  ends_with: "ends with",
  in: "is one of",
  not_in: "is not one of",
  is_set: "is set",
  is_not_set: "is not set",
};

function showValue(value) {
  if (Array.isArray(value)) return value.map(showValue).join(", ");
  if (value === null || value === undefined) return "nothing";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** "invoice.status equals open and (a is set or b is at least 2)". */
export function summarizeCondition(condition, { words = false, nested = false } = {}) {
  if (!condition || typeof condition !== "object") return "";
  if ("field" in condition || "operator" in condition) {
    const label = OPERATOR_LABELS[condition.operator] || condition.operator || "?";
    const field = !condition.field ? "(no field)" : words ? fieldWords(condition.field) : condition.field;
    if (condition.operator === "is_set" || condition.operator === "is_not_set") return `${field} ${label}`;
    return `${field} ${label} ${showValue(condition.value)}`;
  }
  const kind = "all" in condition ? "all" : "any";
  const items = (condition[kind] || []).map((item) => summarizeCondition(item, { words, nested: true })).filter(Boolean);
  if (!items.length) return "";
  const joined = items.join(kind === "all" ? " and " : " or ");
  return nested && items.length > 1 ? `(${joined})` : joined;
}

function configText(value) {
  if (Array.isArray(value)) return value.join(", ");
  return typeof value === "string" ? value : "";
}

function valueAt(step, path) {
  return String(path).split(".").reduce((value, part) => (value && typeof value === "object" ? value[part] : undefined), step);
}

function isSet(value) {
  return value !== undefined && value !== null && value !== "" && !(Array.isArray(value) && !value.length);
}

/**
 * A step summed up by the catalogue's templates (``{field}`` stands for the step's value): the first
 * whose fields are all set; else the last, saying which are not ("(no note)"). No template: the
 * type's description, else its label.
 */
export function summarizeByTemplates(step, templates = [], fallback = "") {
  if (!templates.length) return fallback;
  const fieldsOf = (template) => [...template.matchAll(/\{([^{}]+)\}/g)].map((match) => match[1].trim());
  const chosen = templates.find((template) => fieldsOf(template).every((field) => isSet(valueAt(step, field))))
    ?? templates[templates.length - 1];
  return chosen.replace(/\{([^{}]+)\}/g, (_, field) => {
    const value = valueAt(step, field.trim());
    return isSet(value) ? showValue(value) : `(no ${fieldWords(field.trim())})`;
  });
}

const ACTION_SUMMARIES = {
  send_email: (c) => {
    const what = c.template ? `Send email ${c.template}` : `Send email "${c.subject || "(no subject)"}"`;
    return `${what} to ${configText(c.to) || "(no recipient)"}`;
  },
  send_sms: (c) => `Send SMS to ${c.to || "(no number)"}`,
  send_slack: (c) => `Post to Slack${c.channel ? ` ${c.channel}` : ""}: ${c.text || "(no text)"}`,
  send_webhook: (c) => `${c.method || "POST"} ${c.url || "(no URL)"}`,
  retry_payment: (c) => `Retry payment with ${!c.payment_method || c.payment_method === "default"
    ? "the default payment method" : c.payment_method}`,
  void_invoice: (c) => `Void the invoice${c.reason ? `: ${c.reason}` : ""}`,
  create_credit_note: (c) => `Credit note for ${c.amount ?? "the full amount"}${c.reason ? `: ${c.reason}` : ""}`,
  apply_credits: (c) => `Apply credits${c.amount ? ` up to ${c.amount}` : ""}`,
  update_customer: (c) => `Update customer ${Object.keys({ ...c.fields, ...c.metadata }).join(", ") || "(nothing yet)"}`,
  add_tag: (c) => `Add tag ${c.tag || "(no tag)"}`,
  create_task: (c) => `Create task "${c.title || "(no title)"}"${c.assignee ? ` for ${c.assignee}` : ""}`,
  sync_to_crm: (c) => `Sync ${c.object || "customer"} to the CRM`,
};

function summarizeDelay(step) {
  if (step.until) {
    let text = `wait until ${step.until}`;
    if (step.offset) {
      const offset = humanDuration(step.offset);
      text += offset.startsWith("-") ? ` minus ${offset.slice(1)}` : ` plus ${offset}`;
    }
    return step.at ? `${text}, at ${step.at}` : text;
  }
  const text = `wait ${humanDuration(step.duration || "?")}`;
  return step.at ? `${text}, then until ${step.at}` : text;
}

function waitLimit(step) {
  if (step.until) {
    let text = `until ${step.until}`;
    if (step.offset) {
      const offset = humanDuration(step.offset);
      text += offset.startsWith("-") ? ` minus ${offset.slice(1)}` : ` plus ${offset}`;
    }
    return text;
  }
  return step.timeout ? `up to ${humanDuration(step.timeout)}` : "";
}

/** "wait until invoice was paid · up to 3 days" ("wait for invoice.paid" without the catalogue). */
function summarizeWaitFor(step, eventTypes) {
  const events = (step.events || []).filter(Boolean);
  const limit = waitLimit(step);
  const known = events.length && events.every((type) => eventTypes?.[type]?.description);
  const what = !events.length ? "wait for (no event chosen)"
    : known ? `wait until ${events.map((type) => lowerFirst(eventLabel(type, eventTypes))).join(" or ")}`
      : `wait for ${events.join(" or ")}`;
  return `${what}${limit ? ` · ${limit}` : ""}`;
}

/** "ask Write off {{ invoice.number }}? · up to 5 days, then rejected" */
function summarizeApproval(step) {
  const limit = waitLimit(step);
  const then = limit ? `, then ${step.on_timeout || "timed out"}` : "";
  return `ask ${step.ask || "(no question yet)"}${limit ? ` · ${limit}${then}` : ""}`;
}

function summarizeLoop(step, words) {
  const name = step.as || "item";
  if (step.over && typeof step.over === "object") {
    const where = summarizeCondition(step.over.where, { words });
    return `for each ${name} in ${step.over.collection || "?"}${where ? ` where ${where}` : ""}`;
  }
  const over = step.over && words ? fieldWords(step.over) : step.over;
  return `for each ${name} in ${over || "(nothing yet)"}`;
}

/** The card's line for a step; ``actions`` and ``eventTypes`` map keys to their catalogue entries;
 *  ``words``: data fields in words ("invoice amount due", "retry's status") rather than as paths. */
export function summarizeStep(step, actions = {}, eventTypes = {}, { words = false } = {}) {
  switch (step.type) {
    case "action": {
      const summary = ACTION_SUMMARIES[step.action];
      const text = summary ? summary(step.config || {}) : actions[step.action]?.label || step.action || "Action";
      const window = step.config?.send_window;
      return window ? `${text}, ${describeWindow(window)}` : text;
    }
    case "branch": {
      const text = summarizeCondition(step.if, { words });
      return text ? `If ${text}` : "If (no condition yet)";
    }
    case "delay":
      return summarizeDelay(step);
    case "loop":
      return summarizeLoop(step, words);
    case "stop":
      return `End here (${step.status || "succeeded"})`;
    case "wait_for":
      return summarizeWaitFor(step, eventTypes);
    case "approval":
      return summarizeApproval(step);
    default: {
      const described = stepType(step.type);
      return summarizeByTemplates(step, described?.summary, described?.description || flowStepLabel(step.type) || "Step");
    }
  }
}

const CALENDAR_RULES = {
  first_day_of_month: "on the first day of each month",
  last_day_of_month: "on the last day of each month",
  first_business_day_of_month: "on the first business day of each month",
  last_business_day_of_month: "on the last business day of each month",
  first_day_of_quarter: "on the first day of each quarter",
  first_day_of_year: "on the first day of each year",
};
const ORDINALS = { 1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", "-1": "last" };

export function summarizeSchedule(schedule) {
  if (!schedule || typeof schedule !== "object") return "On a schedule (not set yet)";
  const zone = schedule.timezone || "UTC";
  if (schedule.kind === "interval") return `Every ${humanDuration(schedule.every || "?")}`;
  if (schedule.kind === "cron") return `On cron ${schedule.expression || "?"} (${zone})`;
  if (schedule.kind === "calendar") {
    let when = CALENDAR_RULES[schedule.rule];
    if (schedule.rule === "day_of_month") when = `on day ${schedule.day ?? "?"} of each month`;
    if (schedule.rule === "nth_weekday_of_month") {
      when = `on the ${ORDINALS[schedule.n] || schedule.n} ${schedule.weekday || "?"} of each month`;
    }
    const { country, subdiv } = schedule.holidays || {};
    // The card says which holidays count, only where they change the days.
    const skipping = country && String(schedule.rule).includes("business_day")
      ? `, skipping ${[country, subdiv].filter(Boolean).join("-")} holidays` : "";
    return `${(when || "on a calendar day").replace(/^on/, "On")} at ${schedule.time || "00:00"} (${zone})${skipping}`;
  }
  return "On a schedule";
}

/** "When payment attempt failed" (the event catalogue's words; "When payment.failed happens" without
 *  them), a schedule in words; any other kind (a host's) by the trigger-kind catalogue's templates. */
export function summarizeTrigger(trigger, eventTypes = {}) {
  if (!trigger || typeof trigger !== "object" || !trigger.type) return "No trigger yet: choose one";
  if (trigger.type === "event") {
    const described = eventTypes?.[trigger.event]?.description;
    if (described) {
      // "Subscription ending within X days": X is the trigger's own number of days.
      let text = `When ${lowerFirst(described)}`;
      if (trigger.days_before !== undefined) {
        text = /\bX days\b/.test(text) ? text.replace(/\bX days\b/, plural(trigger.days_before, "day"))
          : `${text}, ${plural(trigger.days_before, "day")} before`;
      }
      if (trigger.threshold_percent !== undefined) text += ` at ${trigger.threshold_percent}%`;
      return text;
    }
    let text = `When ${trigger.event || "(no event chosen)"} happens`;
    if (trigger.days_before !== undefined) text += `, ${plural(trigger.days_before, "day")} before`;
    if (trigger.threshold_percent !== undefined) text += ` at ${trigger.threshold_percent}%`;
    return text;
  }
  if (trigger.type === "schedule") return summarizeSchedule(trigger.schedule);
  const described = triggerKind(trigger.type);
  return summarizeByTemplates(trigger, described?.summary, triggerLabel(trigger.type));
}

export function summarizeConditions(conditions, { words = false } = {}) {
  const text = summarizeCondition(conditions, { words });
  return text ? `Only if ${text}` : "Every trigger continues (no entry conditions)";
}
