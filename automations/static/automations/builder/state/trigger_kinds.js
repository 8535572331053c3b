// The kinds of trigger, as the server describes them (its trigger-kind catalogue, GET trigger-kinds/,
// read once when the page starts and handed to useTriggerKinds): what each is called, its icon,
// what a new one starts with, its fields' JSON Schema, how its card sums it up and what a run it
// starts can read. The trigger panel's choice, the trigger card and the variable scope read it from
// here, a host's own trigger kinds included. Pure, but for the catalogue itself, set once.

import { inWords } from "./step_types.js";

let described = new Map();

/** The catalogue the server gave ([{type, label, icon, blank, schema, summary, scope, ...}], in its order). */
export function useTriggerKinds(entries) {
  described = new Map((entries || []).map((entry) => [entry.type, entry]));
}

/** The catalogue's entry for ``type``, or undefined for a kind this server does not have. */
export function triggerKind(type) {
  return described.get(type);
}

/** Every trigger kind, in the catalogue's order (the trigger panel's). */
export function triggerKinds() {
  return [...described.values()];
}

/** What a kind is called ("A schedule"); its type in words for one the catalogue does not describe. */
export function triggerLabel(type) {
  return described.get(type)?.label || inWords(type);
}

/** A new trigger of ``type``: the catalogue's blank (a copy every time), else its type alone. */
export function blankTrigger(type) {
  return structuredClone(described.get(type)?.blank || { type });
}

/** The data a run of ``trigger`` starts with: "event" (the chosen event's), "given" (what the
 *  caller passes: Run now, the API), or "none". */
export function triggerDataSource(trigger) {
  return described.get(trigger?.type)?.scope?.data || "none";
}

function firstSentence(text) {
  const words = String(text || "").trim().replace(/\.$/, "");
  return words ? `${words[0].toLowerCase()}${words.slice(1)}` : "";
}

/** The variables a kind adds besides its data ([{path, sample}]: a schedule's schedule.slot),
 *  each with its description in brackets as the sample. */
export function triggerVariables(trigger) {
  const variables = described.get(trigger?.type)?.scope?.variables || {};
  return Object.entries(variables).flatMap(([root, schema]) => {
    const fields = Object.entries(schema?.properties || {});
    if (!fields.length) return [{ path: root, sample: `(${firstSentence(schema?.description) || root})` }];
    return fields.map(([name, field]) => ({ path: `${root}.${name}`,
                                            sample: `(${firstSentence(field?.description) || name})` }));
  });
}
