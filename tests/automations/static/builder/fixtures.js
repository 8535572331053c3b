// What the builder's modules are tested with: the server's step-type and trigger-kind catalogues
// (step_types.json and trigger_kinds.json, as GET step-types/ and GET trigger-kinds/ serve them,
// without the schemas; test_step_defaults.py keeps them the server's), set when this module is
// imported, and a dunning definition.
import { readFileSync } from "node:fs";

import { useStepTypes } from "../../../../automations/static/automations/builder/state/step_types.js";
import { useTriggerKinds } from "../../../../automations/static/automations/builder/state/trigger_kinds.js";

/** The built-in step types, as the server describes them. */
export const STEP_TYPES = JSON.parse(readFileSync(new URL("./step_types.json", import.meta.url), "utf8"));
useStepTypes(STEP_TYPES);

/** The built-in trigger kinds, as the server describes them. */
export const TRIGGER_KINDS = JSON.parse(readFileSync(new URL("./trigger_kinds.json", import.meta.url), "utf8"));
useTriggerKinds(TRIGGER_KINDS);

/** A host's own trigger kind: what the server serves for tests/noop_step's ticket kind. */
export const TICKET = {
  type: "ticket", label: "A support ticket", description: "Starts a run when the help desk opens a ticket in the chosen queue.",
  icon: "trigger", blank: { type: "ticket", queue: "billing" },
  schema: { type: "object", properties: {
    queue: { enum: ["billing", "general"], title: "Queue", default: "billing" },
    priority: { type: "integer", minimum: 1, maximum: 5, title: "Lowest priority",
                description: "Tickets of this priority or higher (1 is the highest)." } },
  required: ["queue"], additionalProperties: false },
  summary: ["When a {queue} ticket is opened"], scope: { data: "given", variables: {} },
};

/** A host's own step type that declares nothing: what the server derives for tests/noop_step. */
export const NOOP = {
  type: "noop", label: "Noop", description: "", icon: "step", lanes: [], lane_labels: {}, blank: { type: "noop" },
  blank_by_data: [], schema: { type: "object", properties: { note: { type: "string", maxLength: 200, title: "Note" } },
                               required: [], additionalProperties: false },
  summary: ["{note}"], scope: { output: null, lane_variable: null },
};

// A dunning definition much like the library's Payment Dunning (plus a fallback lane), as the builder holds it.
export function dunning() {
  return {
    name: "Payment dunning",
    trigger: { type: "event", event: "payment.failed" },
    conditions: { all: [{ field: "invoice.amount_due", operator: "greater_than", value: 0 }] },
    correlation_key: "invoice.id",
    steps: [
      { key: "gentle", type: "action", action: "send_email",
        config: { template: "payment_failed_gentle", to: "{{ customer.email }}" } },
      { key: "wait_3d", type: "delay", duration: "3d" },
      { key: "still_unpaid", type: "branch",
        if: { all: [{ field: "invoice.status", operator: "equals", value: "open" }] },
        then: [
          { key: "retry", type: "action", action: "retry_payment", config: {}, on_failure: "continue",
            fallback: [{ key: "tell_ops", type: "action", action: "send_slack",
                         config: { text: "Retry failed for {{ invoice.number }}" } }] },
          { key: "urgent", type: "action", action: "send_email",
            config: { template: "payment_failed_urgent", to: "{{ customer.email }}" } },
        ],
        else: [{ key: "paid", type: "stop" }] },
      { key: "wait_7d", type: "delay", duration: "7d" },
      { key: "final", type: "action", action: "send_email",
        config: { template: "payment_failed_final", to: "{{ customer.email }}" } },
    ],
  };
}

export function keysOf(steps) {
  return steps.map((step) => step.key);
}
