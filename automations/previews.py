"""Previews the builder shows beside a form: a schedule's next run times and a template rendered
on sample data, with the outputs earlier steps are predicted to give. Nothing here writes or sends
anything."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.core.mail import EmailMultiAlternatives

from automations import clock
from automations.actions import registry as actions
from automations.actions.communication import default_from, send_within_deadline
from automations.conf import app_settings
from automations.errors import ActionError, Unavailable
from automations.definition.trigger import validate_schedule
from automations.scope import UnstoredRun, build_scope
from automations.steps.lanes import lanes_of, walk
from automations.templating import RenderError, empty_variables, render
from automations.triggers.schedule_rules import Schedule
from billing_events.errors import InvalidInput

TEMPLATE_FIELDS = ("subject", "body", "html", "body_text", "body_html")
#: How a value shows that no earlier step on the sample data's path gives (‹steps.retry.output.status›).
PLACEHOLDER = re.compile(r"‹(steps\.[^›]+)›")


def next_run_times(schedule: Any, count: int = 5, after: datetime | None = None) -> list[datetime]:
    """The next ``count`` slots of ``schedule`` (a trigger's ``schedule`` object) after ``after``
    (default: now); InvalidInput naming ``trigger.schedule.<field>`` when it is not valid."""
    errors = validate_schedule(schedule, "trigger.schedule")
    if errors:
        raise InvalidInput(errors)
    planner, moment, times = Schedule(schedule), after or clock.now(), []
    for _ in range(count):
        slot = planner.next_after(moment)
        times.append(slot.at)
        moment = slot.at
    return times


def predicted_outputs(definition: dict[str, Any], data: dict[str, Any], step: str) -> dict[str, Any]:
    """The outputs of the steps that run before step ``step`` when ``definition`` runs on ``data``,
    as test mode predicts them (an action's answer, a failed one's ``status: failed`` and error, a
    branch's lane, a wait's event or decision), by step key. An output field test mode does not
    predict — of a step in a lane the data does not take, or one only a live run knows (a task's
    id) — is a placeholder, ``‹steps.follow_up.output.task_id›``. A definition that is not valid
    yet predicts nothing but placeholders."""
    from automations.services import test_run  # the services use the engine; previews are read beside it

    placeholders = {other["key"]: _placeholders(other) for other in walk(definition.get("steps") or [])
                    if isinstance(other.get("key"), str) and other["key"] != step}
    outputs: dict[str, Any] = {key: fields for key, fields in placeholders.items() if fields}
    timeline: list[dict[str, Any]] = []
    # The step being written may not be valid yet (its template is half typed): what runs before it
    # does not depend on it, so it is tried as a plain stop too.
    for tried in (definition, {**definition, "steps": _stopping_at(definition.get("steps"), step)}):
        try:
            timeline = test_run(None, data, definition=tried)["timeline"]
            break
        except InvalidInput:
            continue
    for entry in timeline:
        key = entry["step"]
        if key == step:
            break
        if entry["type"] == "action" and "would" in entry:
            output = entry["would"]
        elif entry["type"] == "action" and "error" in entry:
            output = {**(entry.get("output") or {}), "status": "failed", "error": entry["error"]}
        elif entry["type"] == "branch":
            output = {"branch": entry["branch"], "reason": entry.get("reason", "")}
        elif isinstance(entry.get("output"), dict):
            output = entry["output"]
        else:
            continue
        outputs[key] = {**placeholders.get(key, {}), **output}
    return outputs


def _stopping_at(steps: Any, key: str) -> Any:
    """``steps`` with the step ``key`` (at any depth) replaced by a stop of the same key."""
    if not isinstance(steps, list):
        return steps
    replaced = []
    for item in steps:
        if isinstance(item, dict) and item.get("key") == key:
            item = {"key": key, "type": "stop"}
        elif isinstance(item, dict):
            item = {**item, **{lane: _stopping_at(item[lane], key) for lane in lanes_of(item) if lane in item}}
        replaced.append(item)
    return replaced


def _placeholders(step: dict[str, Any]) -> dict[str, str]:
    """A placeholder for each output field an action or a branch documents."""
    if step.get("type") == "branch":
        fields = ["branch", "reason"]
    elif step.get("type") == "action":
        action = actions.get(step.get("action")) if isinstance(step.get("action"), str) else None
        fields = [*((action.output_schema if action else {}) or {}).get("properties", {}), "status", "error"]
    else:
        return {}
    return {name: f"‹steps.{step['key']}.output.{name}›" for name in fields}


def render_templates(sources: dict[str, Any], data: dict[str, Any], outputs: dict[str, Any] | None = None, *,
                     definition: dict[str, Any] | None = None, step: str | None = None) -> dict[str, Any]:
    """Each of ``sources`` (subject, body, ...) rendered with the variables of a run on ``data``
    (current billing data through the gateway, as a real step sees it) and earlier steps'
    outputs: those of step ``step`` of ``definition`` as test mode predicts them on ``data``
    (see :func:`predicted_outputs`), with ``outputs`` given (by step key) taking their place.
    Returns ``{"rendered": {...}, "errors": [{"field", "message"}], "warnings": [...]}``: a
    template that does not render is reported by field, the others are still shown; a variable
    that renders empty (a customer without a name), or as a placeholder, is a warning naming it
    and the field."""
    known = predicted_outputs(definition, data, step) if definition is not None and step else {}
    run = UnstoredRun(None, {"type": "test"}, data, clock.now(), outputs={**known, **(outputs or {})})
    scope = build_scope(run, now=clock.now())
    rendered, errors, warnings = {}, [], []
    for name, source in sources.items():
        if name not in TEMPLATE_FIELDS:
            errors.append({"field": name, "message": f"is not a template field; use {', '.join(TEMPLATE_FIELDS)}"})
        elif not isinstance(source, str):
            errors.append({"field": name, "message": "must be text"})
        else:
            try:
                rendered[name] = render(source, scope, html=name in ("html", "body_html"))
            except RenderError as exc:
                errors.append({"field": name, "message": str(exc)})
            else:
                warnings += [{"field": name, "message": f"{path} rendered empty"}
                             for path in empty_variables(source, scope.resolve)]
                warnings += [{"field": name, "message": f"{path} is shown as a placeholder: test mode does not "
                                                        "predict it (its step does not run before this one, "
                                                        "or only a live run knows it)"}
                             for path in dict.fromkeys(PLACEHOLDER.findall(rendered[name]))]
    return {"rendered": rendered, "errors": errors, "warnings": warnings}


#: The first line of a preview sent by email: it reached the operator, never a customer.
PREVIEW_NOTE = "This is a test email from Billing Automations, sent to you from the builder; no customer got it."


def send_preview_email(sources: dict[str, Any], data: dict[str, Any], outputs: dict[str, Any] | None = None, *,
                       to: str, definition: dict[str, Any] | None = None, step: str | None = None) -> dict[str, Any]:
    """Render ``sources`` as :func:`render_templates` does and send the email to ``to`` (the
    operator) through the real mail backend, marked as a test in its subject, its first line and a
    header. :class:`InvalidInput` naming the field when a template does not render;
    :class:`Unavailable` when the mail server does not take it. Returns the recipient, the
    subject and the preview's warnings."""
    preview = render_templates(sources, data, outputs, definition=definition, step=step)
    if preview["errors"]:
        raise InvalidInput(preview["errors"])
    rendered = preview["rendered"]
    subject = "[Test] " + " ".join((rendered.get("subject") or "").split())
    body = f"{PREVIEW_NOTE}\n\n{rendered.get('body') or rendered.get('body_text') or ''}"
    message = EmailMultiAlternatives(subject=subject, body=body, from_email=default_from(), to=[to],
                                     headers={"X-Billing-Automations-Test": "yes"})
    html = rendered.get("html") or rendered.get("body_html")
    if html:
        message.attach_alternative(f"<p><em>{PREVIEW_NOTE}</em></p>{html}", "text/html")
    try:
        sent = send_within_deadline(message, float(app_settings.ACTION_TIMEOUT_SECONDS))
    except ActionError as exc:  # refused, or out of reach: as a send_email step would say it
        raise Unavailable(f"the mail server did not take it: {exc}", field="to") from exc
    if not sent:
        raise Unavailable("the mail server did not take it", field="to")
    return {"to": to, "subject": subject, "warnings": preview["warnings"]}
