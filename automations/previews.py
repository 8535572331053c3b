"""Previews the builder shows beside a form: a schedule's next run times and a template rendered
on sample data. Nothing here writes or sends anything."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from automations import clock
from automations.definition.trigger import validate_schedule
from automations.scope import UnstoredRun, build_scope
from automations.templating import RenderError, empty_variables, render
from automations.triggers.schedule_rules import Schedule
from billing_events.errors import InvalidInput

TEMPLATE_FIELDS = ("subject", "body", "html", "body_text", "body_html")


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


def render_templates(sources: dict[str, Any], data: dict[str, Any],
                     outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Each of ``sources`` (subject, body, ...) rendered with the variables of a run on ``data``
    (current billing data through the gateway, as a real step sees it) and earlier steps'
    ``outputs``. Returns ``{"rendered": {...}, "errors": [{"field", "message"}], "warnings": [...]}``:
    a template that does not render is reported by field, the others are still shown; a variable
    that renders empty (a customer without a name) is a warning naming it and the field."""
    run = UnstoredRun(None, {"type": "test"}, data, clock.now(), outputs=dict(outputs or {}))
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
    return {"rendered": rendered, "errors": errors, "warnings": warnings}
