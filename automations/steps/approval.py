"""The approval step: the run waits for a decision by a person allowed to take it (approve or
reject, with a comment), or takes a default one at its timeout. Its output is
``{"decision": "approved" | "rejected" | "timed_out", "by": username, "comment": text}``.

Reaching the step renders the question, the customer and amounts it is about and the approvers'
messages on the run's data; the run's backend turns them into an approval request with the wait
(``Next.waits_for``) and tells, when the run is back, what was decided (``Run.wait_result``): the
worker from the stored request (``automations.engine.approvals``), test mode from the test input.
"""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import models
from simple_history.models import HistoricalRecords

from automations.conditions import MISSING
from automations.models.steps import Step
from automations.scope import to_json
from automations.steps.base import Next, Run, StepFailed, StepJSON, StepKind
from automations.steps.registry import register_step_type
from automations.steps.wait_for import LIMIT_FIELDS, deadline, finish_wait, validate_limit
from automations.templating import RenderError, render

DECIDE_PERMISSION = "automations.decide_approval"
DEFAULT_APPROVERS = {"permission": DECIDE_PERMISSION}
DECISIONS = ("approved", "rejected")
NOTIFY_CHANNELS = {"email": {"channel", "to", "subject", "body"}, "slack": {"channel", "text"}}
PERMISSION = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")

#: What a request shows about the run's customer and amounts (when the run's data has them).
DETAIL_FIELDS = {
    "customer": ("id", "name", "email"),
    "invoice": ("id", "number", "currency", "total", "amount_due", "status"),
    "payment": ("id", "amount", "currency"),
}


def decision_output(decision: str, by: str | None, comment: str, *, timed_out: bool = False) -> dict[str, Any]:
    """The step's output: ``{"decision", "by", "comment"}`` (and ``timed_out`` when no one decided)."""
    output: dict[str, Any] = {"decision": decision, "by": by, "comment": comment}
    if timed_out:
        output["timed_out"] = True
    return output


def render_request(step: StepJSON, scope: Any) -> tuple[str, dict[str, Any]]:
    """The question rendered on the run's data, and the customer and amounts it is about."""
    ask = render(step["ask"], scope)
    details: dict[str, Any] = {}
    for root, fields in DETAIL_FIELDS.items():
        values = {name: scope.resolve(f"{root}.{name}") for name in fields}
        values = {name: value for name, value in values.items() if value is not MISSING and value is not None}
        if values:
            details[root] = to_json(values)
    return ask, details


def _amount(value: Any) -> str:
    return str(Decimal(str(value))) if isinstance(value, (int, float, str, Decimal)) else str(value)


def render_notifications(step: StepJSON, scope: Any, ask: str, details: dict[str, Any]) -> list[dict[str, Any]]:
    """The approvers' messages, rendered on the run's data now (sent once the request is stored)."""
    about = []
    if details.get("customer"):
        customer = details["customer"]
        about.append(f"Customer: {customer.get('name') or customer.get('id')}"
                     + (f" <{customer['email']}>" if customer.get("email") else ""))
    if details.get("invoice"):
        invoice = details["invoice"]
        amount = invoice.get("amount_due", invoice.get("total"))
        about.append(f"Invoice: {invoice.get('number') or invoice.get('id')}"
                     + (f", {_amount(amount)} {invoice.get('currency', '')} due".rstrip() if amount is not None else ""))
    messages = []
    for item in step.get("notify", []):
        if item["channel"] == "email":
            subject = render(item["subject"], scope) if item.get("subject") else f"Approval needed: {ask}"
            body = render(item["body"], scope) if item.get("body") else "\n".join([ask, "", *about])
            recipients = [address.strip() for address in render(item["to"], scope).split(",") if address.strip()]
            messages.append({"channel": "email", "to": recipients, "subject": " ".join(subject.split())[:250],
                             "body": body})
        else:
            text = render(item["text"], scope) if item.get("text") else " · ".join([f"Approval needed: {ask}", *about])
            messages.append({"channel": "slack", "text": text})
    return messages


@register_step_type
class ApprovalStep(StepKind, Step):
    type_name = "approval"
    fields = ("ask", "approvers", "notify", *LIMIT_FIELDS, "on_timeout")
    type_label = "Approval"
    type_description = "Wait for a person to approve or reject, or a default decision at a timeout."
    type_icon = "approval"
    type_order = 30
    # Nobody answering in three days is taken as a no: a run never waits on a question forever.
    starts_with = {"ask": "Go on with {{ automation.name }}?", "approvers": dict(DEFAULT_APPROVERS),
                   "timeout": "3d", "on_timeout": "rejected"}
    card_summary = ("ask {ask}",)
    output_schema = {"type": "object", "additionalProperties": False, "required": ["decision", "by", "comment"],
                     "properties": {
                         "decision": {"enum": [*DECISIONS, "timed_out"]},
                         "by": {"type": ["string", "null"], "description": "Who decided (null: nobody, in time)."},
                         "comment": {"type": "string"},
                         "timed_out": {"type": "boolean", "description": "True when nobody decided in time."}}}

    ask = models.TextField(help_text="What is asked (a template).")
    approvers = models.JSONField(default=dict, help_text='Who may decide: {"permission": ...}.')
    notify = models.JSONField(default=list, blank=True, help_text="Whom to tell: email and/or Slack.")
    timeout = models.CharField(max_length=50, blank=True)
    until = models.CharField(max_length=500, blank=True)
    offset = models.CharField(max_length=50, blank=True)
    on_timeout = models.CharField(max_length=10, blank=True, help_text="The decision taken at the timeout.")
    history = HistoricalRecords()

    @classmethod
    def validate(cls, validator, step, path, loop_vars, canonical):
        ask = step.get("ask")
        if not isinstance(ask, str) or not ask.strip():
            validator.error(f"{path}.ask", "is required: the question, such as Write off {{ invoice.number }}?")
        else:
            validator.templates(ask, f"{path}.ask", loop_vars)
        canonical["ask"] = ask
        approvers = step.get("approvers", DEFAULT_APPROVERS)
        if not isinstance(approvers, dict):
            validator.error(f"{path}.approvers", 'must be an object such as {"permission": "automations.decide_approval"}')
        else:
            for field in sorted(set(approvers) - {"permission", "groups"}):
                validator.error(f"{path}.approvers.{field}", "is not a field of approvers (permission, groups)")
            permission = approvers.get("permission", DECIDE_PERMISSION)
            if not isinstance(permission, str) or not PERMISSION.match(permission):
                validator.error(f"{path}.approvers.permission",
                                f"{permission!r} is not a permission such as {DECIDE_PERMISSION}")
            groups = approvers.get("groups", [])
            if not isinstance(groups, list) or not all(isinstance(g, str) and g.strip() for g in groups):
                validator.error(f"{path}.approvers.groups", "must be a list of group names")
        canonical["approvers"] = approvers
        notify = step.get("notify", [])
        if not isinstance(notify, list):
            validator.error(f"{path}.notify",
                            'must be a list such as [{"channel": "email", "to": "finance@example.com"}]')
            notify = []
        for index, item in enumerate(notify):
            where = f"{path}.notify[{index}]"
            channel = item.get("channel") if isinstance(item, dict) else None
            if not isinstance(channel, str) or channel not in NOTIFY_CHANNELS:
                validator.error(f"{where}.channel", f"{channel!r} is not one of {', '.join(NOTIFY_CHANNELS)}")
                continue
            for field in sorted(set(item) - NOTIFY_CHANNELS[channel]):
                validator.error(f"{where}.{field}", f"is not a field of a {channel} notification")
            if channel == "email" and (not isinstance(item.get("to"), str) or not item["to"].strip()):
                validator.error(f"{where}.to", "is required: the approvers' address, such as finance@example.com")
            for field, value in item.items():
                if field == "channel":
                    continue
                if not isinstance(value, str):
                    validator.error(f"{where}.{field}", "must be text")
                else:
                    validator.templates(value, f"{where}.{field}", loop_vars)
        if notify:
            canonical["notify"] = notify
        validate_limit(validator, step, path, loop_vars, canonical, required=False)
        on_timeout = step.get("on_timeout")
        if on_timeout is not None:
            if on_timeout not in DECISIONS:
                validator.error(f"{path}.on_timeout", f"{on_timeout!r} is not one of {', '.join(DECISIONS)}")
            elif "timeout" not in step and "until" not in step:
                validator.error(f"{path}.on_timeout", "only goes with a timeout (or until)")
            canonical["on_timeout"] = on_timeout
        return canonical

    @classmethod
    def check_references(cls, checker, step, path, shadowed):
        texts = [(f"{path}.ask", step.get("ask")), (f"{path}.until", step.get("until"))]
        for index, item in enumerate(step.get("notify") if isinstance(step.get("notify"), list) else []):
            for field, value in (item.items() if isinstance(item, dict) else ()):
                texts.append((f"{path}.notify[{index}].{field}", value))
        for field, text in texts:
            if isinstance(text, str):
                checker.template(field, text, shadowed)
        return shadowed

    @classmethod
    def schema_defs(cls, kit):
        return {"ApprovalStep": {
            **kit.object({"key": kit.step_key, "type": {"const": "approval"}, "name": {"type": "string"},
                          "ask": {"type": "string", "pattern": kit.not_blank},
                          "approvers": kit.object({"permission": {"type": "string", "pattern": PERMISSION.pattern},
                                                   "groups": {"type": "array",
                                                              "items": {"type": "string", "pattern": kit.not_blank}}}),
                          "notify": {"type": "array", "items": {"oneOf": [
                              kit.object({"channel": {"const": "email"}, "to": {"type": "string", "pattern": kit.not_blank},
                                          "subject": {"type": "string"}, "body": {"type": "string"}}, ("channel", "to")),
                              kit.object({"channel": {"const": "slack"}, "text": {"type": "string"}}, ("channel",))]}},
                          "timeout": kit.duration, "until": {"type": "string", "pattern": kit.not_blank},
                          "offset": {"type": "string", "pattern": kit.signed_duration},
                          "on_timeout": {"enum": list(DECISIONS)}}, ("type", "ask")),
            "not": {"required": ["timeout", "until"]},
            "dependentRequired": {"offset": ["until"]},
            "if": {"required": ["on_timeout"]}, "then": {"anyOf": [{"required": ["timeout"]}, {"required": ["until"]}]},
            "description": "Waits for a decision by a user with the approvers' permission (and "
                           "automations.decide_approval); output {decision, by, comment}."}}

    @classmethod
    def row_values(cls, step):
        return {"ask": step["ask"], "approvers": step.get("approvers", {}), "notify": step.get("notify", []),
                **{field: step.get(field, "") for field in (*LIMIT_FIELDS, "on_timeout")}}

    def definition_fields(self):
        data: StepJSON = {"ask": self.ask, "approvers": self.approvers}
        if self.notify:
            data["notify"] = self.notify
        data.update({field: getattr(self, field) for field in (*LIMIT_FIELDS, "on_timeout") if getattr(self, field)})
        return data

    @classmethod
    def reach(cls, run: Run, step: StepJSON) -> Next:
        """Ask (the run waits for the decision, or the timeout), or, back from the wait, take the decision."""
        frame = run.cursor[-1]
        state = frame.get("wait")
        approvers = step.get("approvers") or DEFAULT_APPROVERS
        if state is not None:
            output = run.wait_result(step)
            if output is not None:
                return finish_wait(run, step, output)
            until = datetime.fromisoformat(state["until"]) if state.get("until") else None  # woken early: wait on
            return Next(wake_at=until, waits_for={"kind": "approval", "step": step["key"], "until": until,
                                                  "again": True})
        scope = run.scope()
        try:
            ask, details = render_request(step, scope)
            until = deadline(step, scope, run.now)
            messages = render_notifications(step, scope, ask, details)
        except (RenderError, ValueError, OverflowError) as exc:
            raise StepFailed(str(exc)) from exc
        frame["wait"] = {"step": step["key"], "kind": "approval", "until": until.isoformat() if until else None,
                         "label": f"for a decision by {approvers.get('permission', DECIDE_PERMISSION)}"}
        return Next(wake_at=until, waits_for={
            "kind": "approval", "step": step["key"], "until": until, "ask": ask, "details": details,
            "approvers": approvers, "messages": messages, "on_timeout": step.get("on_timeout", "")})

    @classmethod
    def timeline(cls, output, now):
        return {"decision": output["decision"], "output": output}
