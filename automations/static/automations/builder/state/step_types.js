// The kinds of step, as the server describes them (its step-type catalogue, GET step-types/, read
// once when the page starts and handed to useStepTypes): what each is called, its icon, its lanes,
// what a new one starts with, its fields' JSON Schema and how a card sums it up. The palette, the
// insert menu, the cards, the lanes and a new step all read it from here, a host's own step types
// included. What a new action step's config starts with is the builder's own (ACTION_CONFIGS).
// Pure, but for the catalogue itself, set once.

let described = new Map();

/** The catalogue the server gave ([{type, label, icon, lanes, blank, ...}], in its order). */
export function useStepTypes(entries) {
  described = new Map((entries || []).map((entry) => [entry.type, entry]));
}

/** The catalogue's entry for ``type``, or undefined for a type this server does not have. */
export function stepType(type) {
  return described.get(type);
}

/** Every step type, in the catalogue's order (the palette's). */
export function stepTypes() {
  return [...described.values()];
}

/** The names of a type's lanes (a branch's then and else); none for a type not described. */
export function lanesOfType(type) {
  return described.get(type)?.lanes || [];
}

/** "fallback" -> "Fallback": a key in words. */
export function inWords(name) {
  const text = String(name ?? "").replace(/[_-]+/g, " ").trim();
  return text ? `${text[0].toUpperCase()}${text.slice(1)}` : "";
}

/** What a lane is called: by its owner's type (``type``), else by any type that has one of that
 *  name, else its name in words. */
export function laneName(slot, type) {
  const own = described.get(type)?.lane_labels?.[slot];
  if (own) return own;
  for (const entry of described.values()) if (entry.lane_labels?.[slot]) return entry.lane_labels[slot];
  return inWords(slot);
}

/** What a step is called when it is not an action: its type's label, its type in words for one
 *  the catalogue does not describe. */
export function flowStepLabel(type) {
  return described.get(type)?.label || inWords(type);
}

/** What a new action step's config starts with, by action; an action not named starts empty. A
 *  field with no sensible default (a webhook's URL, a tag) is left for the operator to fill in. */
export const ACTION_CONFIGS = {
  send_email: { to: "{{ customer.email }}", subject: "About your account",
                body: "Hello {{ customer.name }},\n\n\n" },
  send_sms: { to: '{{ customer.phone | default("") }}', message: "Hello {{ customer.name }}, about your account: " },
  send_slack: { text: "{{ automation.name }}: run {{ execution.id }} needs a look." },
  send_webhook: { method: "POST" },
  retry_payment: { payment_method: "default" },
  create_task: { title: "Follow up on {{ automation.name }}", priority: "normal", due_in: "2d" },
  sync_to_crm: { object: "customer" },
};

/**
 * The fields a new step of ``type`` (an ``action``'s key for actions) starts with, besides its key
 * and type: the catalogue's blank, with the better fields of the first data the run brings where
 * it is added (``roots``: invoice, customer, ...). A copy every time.
 */
export function startingFields(type, action, { roots = new Set() } = {}) {
  if (type === "action") return { config: structuredClone(ACTION_CONFIGS[action] || {}) };
  const entry = described.get(type);
  if (!entry) return {};
  const { type: _type, ...blank } = entry.blank || {};
  const better = (entry.blank_by_data || []).find((item) => roots.has(item.root));
  return structuredClone({ ...blank, ...(better?.fields || {}) });
}
