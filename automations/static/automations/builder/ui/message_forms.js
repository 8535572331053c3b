// The side panel's fields for messages: a message step's send window (days and hours in the
// customer's timezone), and the automation's timezone and frequency caps (in its settings).

import { h } from "./dom.js";
import { checkboxField, selectField, textField } from "./fields.js";
import { addCap, CHANNELS, DAYS, removeCap, windowDays, withCap, withSendWindow } from "../state/messaging.js";

const DAY_NAMES = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };
const CHANNEL_NAMES = { email: "Email", sms: "SMS", slack: "Slack" };

/** The send window of message step ``step``: off, or days with from and to. */
export function sendWindowFields(app, step, readOnly) {
  const window = step.config?.send_window;
  const set = (changes, group = null) => {
    app.editStep(step.key, { config: withSendWindow(app.step(step.key).config, changes) }, group);
  };
  const toggle = [
    checkboxField({ field: "config.send_window", label: "Send only within a window", checked: Boolean(window), readOnly,
                    onChange: (on) => { set({ on }); app.renderPanel(); } }),
    h("p", { class: "ab-help" }, "Outside it the step waits (no worker held) until the window opens. Read in the "
      + "customer's timezone (customer.timezone), else the automation's (Settings)."),
  ];
  if (!window) return h("fieldset", { class: "ab-fieldset ab-send-window" }, h("legend", {}, "Send window"), toggle);
  const days = new Set(windowDays(window));
  const toggleDay = (day, on) => {
    const next = new Set(windowDays(app.step(step.key).config?.send_window));
    if (on) next.add(day);
    else next.delete(day);
    set({ days: [...next] });
  };
  return h("fieldset", { class: "ab-fieldset ab-send-window" }, h("legend", {}, "Send window"), toggle,
    h("fieldset", { class: "ab-days", "data-field": "config.send_window.days" }, h("legend", { class: "ab-label ab-label--words" }, "Days"),
      DAYS.map((day) => checkboxField({ field: `config.send_window.days.${day}`, label: DAY_NAMES[day], checked: days.has(day),
                                        readOnly, onChange: (on) => toggleDay(day, on) })),
      h("ul", { class: "ab-errors", "aria-live": "polite" })),
    textField({ field: "config.send_window.from", label: "Opens at", code: "send_window.from", value: window.from,
                readOnly, required: true,
                placeholder: "09:00", help: "HH:MM, local time.",
                onInput: (text) => set({ from: text.trim() }, `${step.key}:send_window.from`) }),
    textField({ field: "config.send_window.to", label: "Closes at", code: "send_window.to", value: window.to,
                readOnly, required: true,
                placeholder: "17:00", help: "HH:MM, local time; 24:00 for midnight.",
                onInput: (text) => set({ to: text.trim() }, `${step.key}:send_window.to`) }));
}

function capRow(app, cap, index, readOnly) {
  const prefix = `frequency_caps[${index}]`;
  const edit = (changes, group = null) => app.editSettings({ frequency_caps: withCap(app.definition().frequency_caps, index, changes) }, group);
  const channels = new Set(cap.channels || CHANNELS);
  const toggleChannel = (channel, on) => {
    const next = new Set(app.definition().frequency_caps[index].channels || CHANNELS);
    if (on) next.add(channel);
    else next.delete(channel);
    edit({ channels: CHANNELS.filter((name) => next.has(name)) });
  };
  return h("fieldset", { class: "ab-fieldset ab-cap", "data-field": prefix }, h("legend", {}, `Cap ${index + 1}`),
    textField({ field: `${prefix}.max`, label: "At most", code: "max", type: "number", value: cap.max, readOnly,
                required: true,
                help: "At most this many messages per customer…",
                onInput: (text) => edit({ max: text === "" ? undefined : Number(text) }, `settings:cap${index}.max`) }),
    textField({ field: `${prefix}.period`, label: "In any period of", code: "period", value: cap.period, readOnly,
                required: true, placeholder: "1d",
                help: "…in any period this long (rolling), across all automations.",
                onInput: (text) => edit({ period: text.trim() || undefined }, `settings:cap${index}.period`) }),
    h("fieldset", { class: "ab-days", "data-field": `${prefix}.channels` }, h("legend", { class: "ab-label ab-label--words" }, "Counting"),
      CHANNELS.map((channel) => checkboxField({ field: `${prefix}.channels.${channel}`, label: CHANNEL_NAMES[channel],
                                                checked: channels.has(channel), readOnly,
                                                onChange: (on) => toggleChannel(channel, on) })),
      h("ul", { class: "ab-errors", "aria-live": "polite" })),
    selectField({ field: `${prefix}.on_cap`, label: "Over the cap", code: "on_cap", value: cap.on_cap || "delay", readOnly,
                  choices: [["delay", "send it when it fits"], ["skip", "do not send it"]],
                  onChange: (value) => edit({ on_cap: value === "delay" ? undefined : value }) }),
    readOnly ? null : h("button", { type: "button", class: "button", onclick: () => {
      app.editSettings({ frequency_caps: removeCap(app.definition().frequency_caps, index) });
      app.renderPanel();
    } }, `Remove cap ${index + 1}`));
}

/** The automation's frequency caps: the installation's setting, or its own list (empty: exempt). */
export function frequencyCapFields(app, readOnly) {
  const caps = app.definition().frequency_caps;
  const own = Array.isArray(caps);
  return h("fieldset", { class: "ab-fieldset", "data-field": "frequency_caps" }, h("legend", {}, "Frequency caps"),
    checkboxField({ field: "frequency_caps.own", label: "Own caps instead of the installation's", checked: own, readOnly,
                    onChange: (on) => { app.editSettings({ frequency_caps: on ? addCap([]) : undefined }); app.renderPanel(); } }),
    h("p", { class: "ab-help" }, "Messages (email, SMS, Slack) to one customer, counted across all automations. Without "
      + "own caps the installation's caps apply; own caps left empty exempt this automation."),
    own ? caps.map((cap, index) => capRow(app, cap, index, readOnly)) : null,
    own && !readOnly ? h("button", { type: "button", class: "button", onclick: () => {
      app.editSettings({ frequency_caps: addCap(app.definition().frequency_caps) });
      app.renderPanel();
    } }, "Add a cap") : null,
    h("ul", { class: "ab-errors", "aria-live": "polite" }));
}
