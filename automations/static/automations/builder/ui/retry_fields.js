// A retry policy's fields (the automation's default and a step's own), named by what they do
// with the definition's keys beside them.

import { SETTING_LABELS } from "../state/labels.js";
import { h } from "./dom.js";
import { legend, textField } from "./fields.js";

const number = (text) => (text === "" ? undefined : Number(text));

/** ``policy``'s fields under ``field`` ("retry"); ``onChange(name, value)`` (undefined: removed). */
export function retryPolicyFields({ policy, readOnly, title, help, field = "retry", onChange }) {
  const one = (name, options) => textField({
    field: `${field}.${name}`, label: SETTING_LABELS[name], code: name, value: policy[name], readOnly, ...options });
  return h("fieldset", { class: "ab-fieldset", "data-field": field }, legend(title, "retry"),
    help ? h("p", { class: "ab-help" }, help) : null,
    one("max_attempts", { type: "number", help: "How many times it is tried in all, the first time included.",
                          onInput: (text) => onChange("max_attempts", number(text)) }),
    one("initial_interval", { placeholder: "1m", help: "How long to wait before the second attempt (30s, 1m, 1h).",
                              onInput: (text) => onChange("initial_interval", text || undefined) }),
    one("backoff_coefficient", { type: "number", help: "Each wait after that is this many times the one before (2: twice as long).",
                                 onInput: (text) => onChange("backoff_coefficient", number(text)) }),
    one("max_interval", { placeholder: "1h", help: "No wait is longer than this.",
                          onInput: (text) => onChange("max_interval", text || undefined) }),
    h("ul", { class: "ab-errors", "aria-live": "polite" }));
}
