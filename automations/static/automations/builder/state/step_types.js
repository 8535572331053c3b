// The kinds of step the builder offers, in one table: what each is called, what it is for, and
// what a new one starts with — the palette, the insert menu, the cards and a new step all read
// it. A new step starts from what an operator would most often want (an email to the customer, a
// wait of a day), so that it is not a problem the moment it is added. Pure.

/** The flow steps (actions come from the server's catalogue), in the palette's order. */
export const FLOW_STEP_TYPES = {
  delay: {
    label: "Delay", description: "Wait a while, or until a date, before going on.",
    start: () => ({ duration: "1d" }),
  },
  wait_for: {
    label: "Wait for event",
    description: "Wait until an event about this run arrives (invoice.paid for this invoice), or a timeout.",
    start: () => ({ events: ["invoice.paid"], timeout: "3d" }),
  },
  approval: {
    label: "Approval", description: "Wait for a person to approve or reject, or a default decision at a timeout.",
    // Nobody answering in three days is taken as a no: a run never waits on a question forever.
    start: () => ({ ask: "Go on with {{ automation.name }}?", approvers: { permission: "automations.decide_approval" },
                    timeout: "3d", on_timeout: "rejected" }),
  },
  branch: {
    label: "Branch", description: "Go one way or another depending on a condition.",
    start: ({ roots }) => ({ if: { all: [firstCondition(roots)] }, then: [], else: [] }),
  },
  loop: {
    label: "Loop", description: "Run steps for each item of a list or each record of a collection.",
    start: ({ roots }) => (roots.has("invoice") ? { over: "invoice.line_items", as: "item", steps: [] }
      : { over: { collection: "customers" }, as: "customer", steps: [] }),
  },
  stop: {
    label: "Stop", description: "End the run here.",
    start: () => ({}),
  },
};

// A branch's first condition: the status of what the run is about, else whether the customer has an email.
const CONDITIONS = [
  ["invoice", { field: "invoice.status", operator: "equals", value: "open" }],
  ["subscription", { field: "subscription.status", operator: "equals", value: "active" }],
  ["payment", { field: "payment.status", operator: "equals", value: "failed" }],
  ["usage", { field: "usage.percent", operator: "greater_than", value: 100 }],
  ["customer", { field: "customer.email", operator: "is_set" }],
];

function firstCondition(roots) {
  const found = CONDITIONS.find(([root]) => roots.has(root));
  return { ...(found ? found[1] : { field: "", operator: "equals", value: "" }) };
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

/** What a step is called when it is not an action. */
export function flowStepLabel(type) {
  return FLOW_STEP_TYPES[type]?.label;
}

/**
 * The fields a new step of ``type`` (an ``action``'s key for actions) starts with, besides its key
 * and type. ``roots``: the data the run brings where it is added (invoice, customer, ...).
 */
export function startingFields(type, action, { roots = new Set() } = {}) {
  if (type === "action") return { config: structuredClone(ACTION_CONFIGS[action] || {}) };
  return FLOW_STEP_TYPES[type]?.start({ roots }) ?? {};
}
