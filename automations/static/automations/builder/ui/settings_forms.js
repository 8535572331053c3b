// The side panel's forms for the automation itself: its trigger (its kind chosen from the server's
// trigger-kind catalogue; an event picker with description and sample payload; a schedule editor
// with the next five run times from the server; a form drawn from its schema for any other kind),
// its entry conditions, and its settings (name, what a run is about, starting again, the events
// that end a run early, retries, timezone, frequency caps), named in words with their keys beside.

import { clear, formatTime, formatTimeIn, h, pretty } from "./dom.js";
import { conditionEditor } from "./condition_editor.js";
import { eventCheckboxes, legend, selectField, textField } from "./fields.js";
import { retryPolicyFields } from "./retry_fields.js";
import { frequencyCapFields } from "./message_forms.js";
import { reentryChoices, SETTING_LABELS, subjectOf } from "../state/labels.js";
import { countsBusinessDays, withHolidays } from "../state/schedule.js";
import { blankTrigger, triggerKind, triggerKinds, triggerLabel } from "../state/trigger_kinds.js";
import { ownFieldsForm } from "./schema_form.js";

const PARAMETERS = {
  "subscription.ending_soon": ["days_before", "Fire this many days before the period ends."],
  "usage.threshold_exceeded": ["threshold_percent", "Fire when usage passes this percentage of the threshold."],
};
const CALENDAR_RULES = [
  ["first_day_of_month", "first day of the month"], ["last_day_of_month", "last day of the month"],
  ["first_business_day_of_month", "first business day of the month"],
  ["last_business_day_of_month", "last business day of the month"], ["day_of_month", "a day of the month"],
  ["nth_weekday_of_month", "an nth weekday of the month"], ["first_day_of_quarter", "first day of the quarter"],
  ["first_day_of_year", "first day of the year"],
];
const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
// What a schedule starts with when its kind of schedule is switched.
const SCHEDULE_DEFAULTS = {
  interval: { kind: "interval", every: "24h" },
  cron: { kind: "cron", expression: "0 9 * * 1", timezone: "UTC" },
  calendar: { kind: "calendar", rule: "first_business_day_of_month", time: "09:00", timezone: "UTC" },
};

function timezones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC", "Europe/Berlin", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney"];
  }
}

function debounce(fn, wait) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
}

function nextRuns(app, schedule, box) {
  return debounce(async () => {
    const list = box.querySelector("ol");
    const errors = box.querySelector(".ab-errors");
    try {
      const answer = await app.api.post("schedule-preview/", { schedule: schedule(), count: 5 });
      clear(errors);
      // On the schedule's own wall clock (what the operator typed), with UTC beside it.
      const zone = schedule().timezone || "UTC";
      list.replaceChildren(...answer.next.map((moment) => h("li", {},
        h("time", { datetime: moment }, formatTimeIn(moment, zone)),
        zone === "UTC" ? null : h("span", { class: "ab-help" }, ` (${formatTime(moment)})`))));
    } catch (error) {
      list.replaceChildren();
      errors.replaceChildren(...error.errors.map((item) => h("li", {}, `${item.field}: ${item.message}`)));
    }
  }, 300);
}

// Shown for every calendar rule (a rule can be switched to a business-day one afterwards); the
// help says when the calendar matters. Both inputs are read together, so a region typed before its
// country is not lost.
function holidayFields(app, schedule, current, readOnly, refresh) {
  const typed = { country: current.holidays?.country ?? "", subdiv: current.holidays?.subdiv ?? "" };
  const apply = (changes) => {
    Object.assign(typed, changes);
    app.editSettings({ trigger: { ...app.definition().trigger,
                                  schedule: withHolidays(schedule(), typed.country, typed.subdiv) } }, "trigger:holidays");
    refresh();
  };
  const applies = countsBusinessDays(current) ? "Business days skip" : "Business-day rules skip";
  return h("fieldset", { class: "ab-fieldset ab-holidays" }, h("legend", {}, "Holidays"),
    textField({ field: "schedule.holidays.country", label: "holiday country", value: typed.country, readOnly,
                placeholder: "DE", help: `${applies} this country's public holidays (ISO code such as DE or US; optional).`,
                onInput: (text) => apply({ country: text }) }),
    textField({ field: "schedule.holidays.subdiv", label: "holiday region", value: typed.subdiv, readOnly,
                placeholder: "BY", help: "A state or region of that country, such as BY for Bavaria (optional).",
                onInput: (text) => apply({ subdiv: text }) }));
}

function scheduleEditor(app, trigger, readOnly) {
  const schedule = () => app.definition().trigger?.schedule || {};
  const box = h("section", { class: "ab-next-runs", "aria-label": "Next run times", "aria-live": "polite" },
    h("h4", {}, "Next five run times"), h("ol", {}), h("ul", { class: "ab-errors" }));
  const refresh = nextRuns(app, schedule, box);
  const set = (changes, group) => {
    const next = { ...schedule(), ...changes };
    for (const [name, value] of Object.entries(changes)) if (value === undefined || value === "") delete next[name];
    app.editSettings({ trigger: { ...app.definition().trigger, schedule: next } }, group);
    refresh();
  };
  const current = trigger.schedule || {};
  const zoneList = "ab-timezones";
  const zone = () => textField({ field: "schedule.timezone", label: "timezone", value: current.timezone || "UTC",
                                 list: zoneList, readOnly, help: "An IANA timezone such as Europe/Berlin.",
                                 onInput: (text) => set({ timezone: text }, "trigger:timezone") });
  const fields = [];
  if (current.kind === "interval") {
    fields.push(textField({ field: "schedule.every", label: "every", value: current.every, readOnly, required: true,
                            help: "15m, 1h, 24h, 7d ...", onInput: (text) => set({ every: text }, "trigger:every") }),
                textField({ field: "schedule.start", label: "start", value: current.start, readOnly,
                            help: "Count from this date-time (optional; ISO 8601).",
                            onInput: (text) => set({ start: text || undefined }, "trigger:start") }));
  } else if (current.kind === "cron") {
    fields.push(textField({ field: "schedule.expression", label: "expression", value: current.expression, readOnly,
                            required: true, help: "5 fields: minute hour day-of-month month weekday (0 9 * * 1 = Mondays at 09:00).",
                            onInput: (text) => set({ expression: text }, "trigger:expression") }), zone());
  } else if (current.kind === "calendar") {
    fields.push(selectField({ field: "schedule.rule", label: "rule", value: current.rule, choices: CALENDAR_RULES, readOnly,
                              onChange: (value) => { set({ rule: value, day: undefined, n: undefined, weekday: undefined,
                                ...(value === "day_of_month" ? { day: 1 } : {}),
                                ...(value === "nth_weekday_of_month" ? { n: 1, weekday: "monday" } : {}) }); app.renderPanel(); } }));
    if (current.rule === "day_of_month") {
      fields.push(textField({ field: "schedule.day", label: "day", type: "number", value: current.day, readOnly,
                              help: "1 to 31; 31 means the last day in shorter months.",
                              onInput: (text) => set({ day: Number(text) }, "trigger:day") }));
    }
    if (current.rule === "nth_weekday_of_month") {
      fields.push(selectField({ field: "schedule.n", label: "n", value: current.n, readOnly,
                                choices: [[1, "first"], [2, "second"], [3, "third"], [4, "fourth"], [5, "fifth"], [-1, "last"]],
                                onChange: (value) => set({ n: Number(value) }) }),
                  selectField({ field: "schedule.weekday", label: "weekday", value: current.weekday, choices: WEEKDAYS,
                                readOnly, onChange: (value) => set({ weekday: value }) }));
    }
    fields.push(textField({ field: "schedule.time", label: "time", value: current.time || "00:00", readOnly,
                            placeholder: "09:00", onInput: (text) => set({ time: text }, "trigger:time") }), zone(),
                holidayFields(app, schedule, current, readOnly, refresh));
  }
  refresh();
  return [
    selectField({ field: "schedule.kind", label: "kind", value: current.kind, readOnly,
                  choices: [["interval", "every so often (interval)"], ["cron", "cron expression"], ["calendar", "calendar rule"]],
                  onChange: (value) => { app.editSettings({ trigger: { type: "schedule", schedule: { ...SCHEDULE_DEFAULTS[value] } } });
                                         app.renderPanel(); } }),
    h("datalist", { id: zoneList }, timezones().map((name) => h("option", { value: name }))),
    fields, box,
  ];
}

function eventPicker(app, trigger, readOnly) {
  const types = Object.values(app.catalog.eventTypes);
  const chosen = app.catalog.eventTypes[trigger.event];
  const parameter = PARAMETERS[trigger.event];
  return [
    selectField({ field: "event", label: "event", value: trigger.event, readOnly, blank: "choose an event…",
                  choices: types.map((type) => [type.type, `${type.description} (${type.type})`]),
                  onChange: (value) => { app.editSettings({ trigger: { type: "event", event: value } }); app.renderPanel(); } }),
    chosen ? h("p", { class: "ab-help ab-event-description" }, chosen.description) : null,
    parameter ? textField({ field: parameter[0], label: parameter[0], type: "number", value: trigger[parameter[0]],
                            readOnly, help: parameter[1],
                            onInput: (text) => app.editSettings({ trigger: { ...app.definition().trigger,
                              [parameter[0]]: text === "" ? undefined : Number(text) } }, `trigger:${parameter[0]}`) }) : null,
    chosen ? h("details", { class: "ab-sample" }, h("summary", {}, "Sample payload"), h("pre", {}, pretty(chosen.sample))) : null,
  ];
}

function kindForm(app, trigger, readOnly) {
  const described = triggerKind(trigger.type);
  if (!described) return null;
  return ownFieldsForm({ schema: described.schema, values: trigger, readOnly, nothing: "",
                         onChange: (name, value) => {
                           const next = { ...app.definition().trigger, [name]: value };
                           if (value === undefined) delete next[name];
                           app.editSettings({ trigger: next }, `trigger:${name}`);
                         } });
}

// The built-in kinds' own forms: richer than a schema can draw (the event catalogue's words and
// samples, a schedule's next run times). Any other kind gets a form drawn from its schema.
const FORMS = { event: eventPicker, schedule: scheduleEditor };

export function triggerForm(app, readOnly) {
  const trigger = app.definition().trigger || {};
  const described = triggerKind(trigger.type);
  const form = FORMS[trigger.type] || kindForm;
  return [
    h("p", { class: "ab-help" }, "What starts a run."),
    selectField({ field: "type", label: "Starts with", code: "type", value: trigger.type, readOnly,
                  blank: trigger.type ? undefined : "choose…",
                  // A kind this server no longer has stays shown as it is (saving then names it).
                  choices: [...triggerKinds().map((kind) => [kind.type, kind.label]),
                            ...(trigger.type && !described ? [[trigger.type, triggerLabel(trigger.type)]] : [])],
                  onChange: (value) => { app.editSettings({ trigger: blankTrigger(value) }); app.renderPanel(); } }),
    described?.description ? h("p", { class: "ab-help ab-trigger-description" }, described.description) : null,
    trigger.type ? form(app, trigger, readOnly) : null,
  ];
}

export function conditionsForm(app, readOnly) {
  return [
    h("p", { class: "ab-help" }, "A trigger starts a run only when these hold (checked on the data when it arrives)."),
    conditionEditor({
      condition: app.definition().conditions, prefix: "", readOnly, paths: app.paths(null), fieldInfo: app.fieldInfo(null),
      onChange: (condition, group) => app.editSettings({ conditions: condition }, group && `conditions:${group}`),
    }),
  ];
}

function policyFields(app, readOnly) {
  return retryPolicyFields({
    policy: app.definition().retry || {}, readOnly, title: "Default retries", field: "retry",
    onChange: (name, value) => {
      const next = { ...(app.definition().retry || {}), [name]: value };
      if (value === undefined) delete next[name];
      app.editSettings({ retry: Object.keys(next).length ? next : undefined }, `settings:retry.${name}`);
    },
  });
}

export function settingsForm(app, readOnly) {
  const definition = app.definition();
  const ids = app.paths(null).filter((path) => path.endsWith(".id") && !path.startsWith("event.") && !path.startsWith("execution."));
  const exitOn = new Set(definition.exit_on || []);
  const toggleExit = (type, on) => {
    const next = new Set(app.definition().exit_on || []);
    if (on) next.add(type);
    else next.delete(type);
    app.editSettings({ exit_on: next.size ? [...next] : undefined });
  };
  const thing = subjectOf(definition.correlation_key);
  return [
    textField({ field: "name", label: SETTING_LABELS.name, value: definition.name, readOnly, required: true,
                onInput: (text) => app.editSettings({ name: text }, "settings:name") }),
    textField({ field: "description", label: SETTING_LABELS.description, value: definition.description, readOnly,
                multiline: true, rows: 2,
                onInput: (text) => app.editSettings({ description: text || undefined }, "settings:description") }),
    h("datalist", { id: "ab-id-paths" }, ids.map((path) => h("option", { value: path }))),
    textField({ field: "correlation_key", label: SETTING_LABELS.correlation_key, code: "correlation_key",
                value: definition.correlation_key, readOnly, list: "ab-id-paths",
                help: "The field that tells which runs are about the same thing, such as invoice.id: starting again and the events that end a run early go by it.",
                onInput: (text) => app.editSettings({ correlation_key: text || undefined }, "settings:correlation_key") }),
    selectField({ field: "reentry", label: SETTING_LABELS.reentry, code: "reentry", value: definition.reentry || "allow",
                  readOnly, choices: reentryChoices(definition.correlation_key),
                  help: `When the trigger fires again for the same ${thing}.`,
                  onChange: (value) => app.editSettings({ reentry: value === "allow" ? undefined : value }) }),
    h("fieldset", { class: "ab-fieldset", "data-field": "exit_on" }, legend(SETTING_LABELS.exit_on, "exit_on"),
      h("p", { class: "ab-help" }, `Each of these ends a run for the same ${thing} at once.`),
      eventCheckboxes({ field: "exit_on", eventTypes: app.catalog.eventTypes, chosen: exitOn, readOnly,
                        onToggle: toggleExit }),
      h("ul", { class: "ab-errors", "aria-live": "polite" })),
    policyFields(app, readOnly),
    selectField({ field: "timezone", label: SETTING_LABELS.timezone, code: "timezone", value: definition.timezone || "",
                  readOnly, blank: "(none: UTC)",
                  choices: timezones(), help: "Send windows are read in the customer's timezone, else this one.",
                  onChange: (value) => app.editSettings({ timezone: value || undefined }) }),
    frequencyCapFields(app, readOnly),
  ];
}
