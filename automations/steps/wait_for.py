"""The wait_for step: the run waits for an event of the listed types with its correlation value
(``invoice.paid`` for this invoice), or until a timeout, without holding a worker. Its output is
``{"event": type, "event_id": id}`` or ``{"timed_out": true}``.

The step says what it waits for (``Next.waits_for``); the run's backend registers it with the wait
and tells, when the run is back, how it ended (``Run.wait_result``): the worker through indexed
waiter rows (``automations.engine.event_waits``), test mode from the test's simulated events.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models
from simple_history.models import HistoricalRecords

from automations.durations import parse as parse_duration
from automations.models.steps import Step
from automations.status import StepRunStatus
from automations.steps.base import Next, Run, StepFailed, StepJSON, StepKind
from automations.steps.cursor import step_done
from automations.steps.delay import validate_until, wake_time
from automations.steps.lanes import walk
from automations.steps.registry import register_step_type
from automations.templating import RenderError
from billing_events.catalogue import event_type_names, get_event_type
from billing_events.errors import InvalidInput

LIMIT_FIELDS = ("timeout", "until", "offset")


def validate_limit(validator: Any, step: StepJSON, path: str, loop_vars: tuple[str, ...], canonical: StepJSON,
                   *, required: bool) -> None:
    """A wait's limit: ``timeout`` (a duration) or ``until`` (a date template, with an ``offset``)."""
    has_timeout, has_until = "timeout" in step, "until" in step
    if has_timeout and has_until:
        validator.error(f"{path}.timeout", "give either timeout (such as 3d) or until (a date template), not both")
    elif required and not (has_timeout or has_until):
        validator.error(f"{path}.timeout", "is required: how long to wait (such as 3d), or until (a date template)")
    if has_timeout:
        try:
            parse_duration(step["timeout"], field=f"{path}.timeout")
        except InvalidInput as exc:
            validator.errors += exc.errors
        canonical["timeout"] = step["timeout"]
    validate_until(validator, step, path, loop_vars, canonical, example="{{ invoice.due_date }}")


def deadline(step: StepJSON, scope: Any, now: datetime) -> datetime | None:
    """When the wait gives up: ``timeout`` after ``now``, or at ``until`` (plus ``offset``); None
    when the step has no limit (an approval waiting for a person only)."""
    if step.get("timeout"):
        return wake_time({"duration": step["timeout"]}, scope, now)
    if step.get("until"):
        return wake_time({"until": step["until"], "offset": step.get("offset", "")}, scope, now)
    return None


def finish_wait(run: Run, step: StepJSON, output: dict[str, Any]) -> Next:
    """The wait at ``step`` is over: log its output and move past it."""
    run.cursor[-1].pop("wait", None)
    run.log(step, StepRunStatus.SUCCEEDED, output=output)
    run.outputs[step["key"]] = output
    step_done(run.cursor)
    return Next()


def waited_event_types(steps: list[StepJSON]) -> list[str]:
    """Every event type a wait_for step in ``steps`` (at any depth) waits for, once each."""
    found: dict[str, None] = {}
    for step in walk(steps):
        if step.get("type") == WaitForStep.type_name:
            found.update(dict.fromkeys(step.get("events", [])))
    return list(found)


@register_step_type
class WaitForStep(StepKind, Step):
    type_name = "wait_for"
    fields = ("events", *LIMIT_FIELDS)
    type_label = "Wait for event"
    type_description = ("Wait until an event about this run arrives (invoice.paid for this invoice), "
                        "or a timeout.")
    type_icon = "wait_for"
    type_order = 20
    starts_with = {"events": ["invoice.paid"], "timeout": "3d"}
    card_summary = ("wait for {events} · until {until}", "wait for {events} · up to {timeout}", "wait for {events}")
    output_schema = {"type": "object", "additionalProperties": False, "required": [], "properties": {
        "event": {"type": "string", "description": "The type of the event that came."},
        "event_id": {"type": "string", "description": "Its id."},
        "timed_out": {"type": "boolean", "description": "True when no event came in time."}}}

    events = models.JSONField(default=list, help_text="The event types that end the wait.")
    timeout = models.CharField(max_length=50, blank=True, help_text="How long to wait at most (3d).")
    until = models.CharField(max_length=500, blank=True, help_text="Or: wait at most until this date (a template).")
    offset = models.CharField(max_length=50, blank=True)
    history = HistoricalRecords()

    @classmethod
    def validate(cls, validator, step, path, loop_vars, canonical):
        events = step.get("events")
        if not isinstance(events, list) or not events:
            validator.error(f"{path}.events", "is required: a non-empty list of event types such as invoice.paid")
            events = []
        for index, event in enumerate(events):
            if not isinstance(event, str) or get_event_type(event) is None:
                validator.error(f"{path}.events[{index}]",
                                f"unknown event type {event!r}; known: {', '.join(event_type_names())}")
            elif event in events[:index]:
                validator.error(f"{path}.events[{index}]", f"{event} is listed twice")
        if events and not validator.correlation_key:
            validator.error(f"{path}.events", "waiting for an event needs the setting “What a run is about” "
                                              "(correlation_key, such as invoice.id) to know which events "
                                              "are this run's")
        canonical["events"] = events
        validate_limit(validator, step, path, loop_vars, canonical, required=True)
        return canonical

    @classmethod
    def check_references(cls, checker, step, path, shadowed):
        if isinstance(step.get("until"), str):
            checker.template(f"{path}.until", step["until"], shadowed)
        return shadowed

    @classmethod
    def schema_defs(cls, kit):
        return {"WaitForStep": {
            **kit.object({"key": kit.step_key, "type": {"const": "wait_for"}, "name": {"type": "string"},
                          "events": {"type": "array", "minItems": 1, "uniqueItems": True,
                                     "items": {"enum": event_type_names()}},
                          "timeout": kit.duration, "until": {"type": "string", "pattern": kit.not_blank},
                          "offset": {"type": "string", "pattern": kit.signed_duration}}, ("type", "events")),
            "oneOf": [{"required": ["timeout"], "not": {"required": ["until"]}},
                      {"required": ["until"], "not": {"required": ["timeout"]}}],
            "dependentRequired": {"offset": ["until"]},
            "description": "Waits for an event of one of these types with the run's correlation value (the "
                           "definition needs a correlation_key), or until the timeout; output {event, event_id} "
                           "or {timed_out: true}."}}

    @classmethod
    def row_values(cls, step):
        return {"events": step["events"], **{field: step.get(field, "") for field in LIMIT_FIELDS}}

    def definition_fields(self):
        return {"events": self.events, **{field: getattr(self, field) for field in LIMIT_FIELDS
                                          if getattr(self, field)}}

    @classmethod
    def reach(cls, run: Run, step: StepJSON) -> Next:
        """Begin the wait (the run waits until the timeout, or the event), or, back from it, take
        how it ended."""
        frame = run.cursor[-1]
        state = frame.get("wait")
        if state is not None:
            output = run.wait_result(step)
            if output is not None:
                return finish_wait(run, step, output)
            until = datetime.fromisoformat(state["until"])  # woken before its time: wait on
        else:
            try:
                until = deadline(step, run.scope(), run.now)
            except (RenderError, ValueError, OverflowError) as exc:
                raise StepFailed(str(exc)) from exc
            frame["wait"] = {"step": step["key"], "kind": "events", "until": until.isoformat(),
                             "events": step["events"]}
        return Next(wake_at=until, waits_for={"kind": "events", "step": step["key"], "events": step["events"],
                                              "until": until})

    @classmethod
    def timeline(cls, output, now):
        return {"output": output}
