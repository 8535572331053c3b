import assert from "node:assert/strict";
import { test } from "node:test";

import {
  humanDuration, stepTypeLabel, summarizeCondition, summarizeConditions, summarizeStep, summarizeTrigger,
} from "../../../../automations/static/automations/builder/state/summary.js";
import { dunning } from "./fixtures.js";

test("cards read as sentences", () => {
  const [gentle, wait, branch] = dunning().steps;
  assert.equal(summarizeStep(gentle), "Send email payment_failed_gentle to {{ customer.email }}");
  assert.equal(summarizeStep(wait), "wait 3 days");
  assert.equal(summarizeStep(branch), "If invoice.status equals open");
  assert.equal(summarizeStep(branch, {}, {}, { words: true }), "If invoice status equals open");
  assert.equal(summarizeStep({ type: "stop" }), "End here (succeeded)");
  assert.equal(summarizeStep({ type: "loop", over: "invoice.line_items", as: "item", steps: [] }),
    "for each item in invoice.line_items");
  assert.equal(summarizeStep({ type: "delay", until: "{{ subscription.current_period_end }}", offset: "-7d", at: "09:00" }),
    "wait until {{ subscription.current_period_end }} minus 7 days, at 09:00");
  assert.equal(summarizeStep({ type: "action", action: "flag_for_collections", config: {} },
    { flag_for_collections: { label: "Flag for collections" } }), "Flag for collections");
});

test("wait_for and approval cards say what they wait for and how long", () => {
  assert.equal(summarizeStep({ type: "wait_for", events: ["invoice.paid"], timeout: "3d" }),
    "wait for invoice.paid · up to 3 days");
  assert.equal(summarizeStep({ type: "wait_for", events: ["invoice.paid", "invoice.voided"], until: "{{ invoice.due_date }}", offset: "2d" }),
    "wait for invoice.paid or invoice.voided · until {{ invoice.due_date }} plus 2 days");
  assert.equal(summarizeStep({ type: "wait_for", events: [] }), "wait for (no event chosen)");
  assert.equal(summarizeStep({ type: "approval", ask: "Write off {{ invoice.number }}?", timeout: "5d", on_timeout: "rejected" }),
    "ask Write off {{ invoice.number }}? · up to 5 days, then rejected");
  assert.equal(summarizeStep({ type: "approval", ask: "Refund?" }), "ask Refund?");
});

const EVENT_TYPES = {
  "invoice.paid": { type: "invoice.paid", description: "Invoice was paid" },
  "invoice.voided": { type: "invoice.voided", description: "Invoice was voided" },
  "payment.failed": { type: "payment.failed", description: "Payment attempt failed" },
  "subscription.ending_soon": { type: "subscription.ending_soon", description: "Subscription ending within X days" },
};

test("events read as the catalogue says them, keys only where it has no words", () => {
  assert.equal(summarizeTrigger({ type: "event", event: "payment.failed" }, EVENT_TYPES), "When payment attempt failed");
  assert.equal(summarizeTrigger({ type: "event", event: "subscription.ending_soon", days_before: 30 }, EVENT_TYPES),
    "When subscription ending within 30 days");
  assert.equal(summarizeStep({ type: "wait_for", events: ["invoice.paid", "invoice.voided"], timeout: "3d" }, {}, EVENT_TYPES),
    "wait until invoice was paid or invoice was voided · up to 3 days");
  assert.equal(summarizeStep({ type: "wait_for", events: ["invoice.disputed"], timeout: "3d" }, {}, EVENT_TYPES),
    "wait for invoice.disputed · up to 3 days");
});

test("in words, an earlier step's output reads as the step's and a field as its words", () => {
  const words = { words: true };
  assert.equal(summarizeCondition({ all: [{ field: "steps.retry.output.status", operator: "equals", value: "succeeded" }] }, words),
    "retry's status equals succeeded");
  assert.equal(summarizeConditions({ all: [{ field: "invoice.amount_due", operator: "greater_than", value: 0 }] }, words),
    "Only if invoice amount due is greater than 0");
  assert.equal(summarizeStep({ type: "loop", over: "invoice.line_items", as: "item", steps: [] }, {}, {}, words),
    "for each item in invoice line items");
});

test("durations in words", () => {
  assert.equal(humanDuration("1d"), "1 day");
  assert.equal(humanDuration("2w"), "2 weeks");
  assert.equal(humanDuration("PT1H30M"), "1 hour 30 minutes");
  assert.equal(humanDuration("P3D"), "3 days");
  assert.equal(humanDuration("soon"), "soon");
});

test("nested conditions keep their grouping", () => {
  const condition = { all: [
    { field: "invoice.status", operator: "equals", value: "open" },
    { any: [{ field: "customer.segment", operator: "in", value: ["smb", "mid"] },
            { field: "customer.email", operator: "is_set" }] },
  ] };
  assert.equal(summarizeCondition(condition),
    "invoice.status equals open and (customer.segment is one of smb, mid or customer.email is set)");
  assert.equal(summarizeCondition(condition, { words: true }),
    "invoice status equals open and (customer segment is one of smb, mid or customer email is set)");
  assert.equal(summarizeConditions(undefined), "Every trigger continues (no entry conditions)");
});

test("triggers in words", () => {
  assert.equal(summarizeTrigger({ type: "event", event: "payment.failed" }), "When payment.failed happens");
  assert.equal(summarizeTrigger({ type: "schedule", schedule: { kind: "cron", expression: "0 9 * * 1", timezone: "Europe/Berlin" } }),
    "On cron 0 9 * * 1 (Europe/Berlin)");
  assert.equal(summarizeTrigger({ type: "schedule", schedule: { kind: "calendar", rule: "first_business_day_of_month", time: "09:00" } }),
    "On the first business day of each month at 09:00 (UTC)");
  assert.equal(summarizeTrigger({ type: "schedule", schedule: { kind: "calendar", rule: "first_business_day_of_month",
    time: "09:00", timezone: "Europe/Berlin", holidays: { country: "DE", subdiv: "BY" } } }),
  "On the first business day of each month at 09:00 (Europe/Berlin), skipping DE-BY holidays");
  assert.equal(summarizeTrigger({ type: "schedule", schedule: { kind: "interval", every: "24h" } }), "Every 24 hours");
});

test("a message's card names its send window", () => {
  const step = { key: "ping", type: "action", action: "send_sms",
                 config: { to: "{{ customer.phone }}", message: "Hi", send_window: { days: ["mon", "tue", "wed", "thu", "fri"], from: "09:00", to: "17:00" } } };
  assert.equal(summarizeStep(step), "Send SMS to {{ customer.phone }}, mon-fri 09:00-17:00");
});

test("a step type is called by its human label, an action by its own", () => {
  assert.equal(stepTypeLabel({ key: "paid", type: "wait_for", events: ["invoice.paid"] }), "Wait for event");
  assert.equal(stepTypeLabel({ key: "wait_3d", type: "delay" }), "Delay");
  assert.equal(stepTypeLabel({ key: "gentle", type: "action", action: "send_email" },
                             { send_email: { label: "Send email" } }), "Send email");
  assert.equal(stepTypeLabel({ key: "x", type: "action", action: "crm_sync" }, {}), "crm_sync");
});
