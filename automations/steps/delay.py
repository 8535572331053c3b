"""The delay step: the run waits — for a duration, or until a rendered date plus an offset,
optionally moved to a time of day in the customer's timezone — without holding a worker."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from automations.durations import TIME_OF_DAY, format_delta, format_iso_moment, format_moment
from automations.durations import parse as parse_duration
from automations.models.steps import Step
from automations.status import ExecutionStatus, StepRunStatus
from automations.steps.base import Next, Run, StepFailed, StepJSON, StepKind
from automations.steps.cursor import step_done
from automations.steps.registry import register_step_type
from automations.templating import RenderError, render, to_date
from billing_events.errors import InvalidInput

DELAY_FIELDS = ("duration", "until", "offset", "at")


def validate_until(validator: Any, step: StepJSON, path: str, loop_vars: tuple[str, ...], canonical: StepJSON,
                   *, example: str) -> None:
    """An ``until`` (a date-time or a date template, ``example`` shown when it is neither) with its
    optional ``offset``; an ``offset`` without ``until`` is an error. Delays and waits share it."""
    if "until" in step:
        until = step["until"]
        if not isinstance(until, str) or not until.strip():
            validator.error(f"{path}.until", f"must be a date-time or a template such as {example}")
        else:
            validator.templates(until, f"{path}.until", loop_vars)
        canonical["until"] = until
        if "offset" in step:
            try:
                parse_duration(step["offset"], field=f"{path}.offset", allow_negative=True)
            except InvalidInput as exc:
                validator.errors += exc.errors
            canonical["offset"] = step["offset"]
    elif "offset" in step:
        validator.error(f"{path}.offset", "only goes with until")

@register_step_type
class DelayStep(StepKind, Step):
    type_name = "delay"
    fields = DELAY_FIELDS
    type_label = "Delay"
    type_description = "Wait a while, or until a date, before going on."
    type_icon = "delay"
    type_order = 10
    starts_with = {"duration": "1d"}
    card_summary = ("wait until {until}", "wait {duration}")

    duration = models.CharField(max_length=50, blank=True)
    until = models.CharField(max_length=500, blank=True)
    offset = models.CharField(max_length=50, blank=True)
    at = models.CharField(max_length=5, blank=True, help_text="HH:MM in the customer's timezone")
    history = HistoricalRecords()

    @classmethod
    def validate(cls, validator, step, path, loop_vars, canonical):
        has_duration, has_until = "duration" in step, "until" in step
        if has_duration == has_until:
            validator.error(f"{path}.duration", "give either duration (such as 3d) or until (a date template)")
        if has_duration:
            try:
                parse_duration(step["duration"], field=f"{path}.duration")
            except InvalidInput as exc:
                validator.errors += exc.errors
            canonical["duration"] = step["duration"]
        validate_until(validator, step, path, loop_vars, canonical, example="{{ subscription.current_period_end }}")
        if "at" in step:
            if not isinstance(step["at"], str) or not TIME_OF_DAY.match(step["at"]):
                validator.error(f"{path}.at", f"{step['at']!r} is not a time of day (HH:MM, 24-hour)")
            canonical["at"] = step["at"]
        return canonical

    @classmethod
    def check_references(cls, checker, step, path, shadowed):
        if isinstance(step.get("until"), str):
            checker.template(f"{path}.until", step["until"], shadowed)
        return shadowed

    @classmethod
    def schema_defs(cls, kit):
        return {"DelayStep": {
            **kit.object({"key": kit.step_key, "type": {"const": "delay"}, "name": {"type": "string"},
                          "duration": kit.duration, "until": {"type": "string", "pattern": kit.not_blank},
                          "offset": {"type": "string", "pattern": kit.signed_duration},
                          "at": {"type": "string", "pattern": kit.time_of_day}}, ("type",)),
            "oneOf": [{"required": ["duration"], "not": {"required": ["until"]}},
                      {"required": ["until"], "not": {"required": ["duration"]}}],
            "dependentRequired": {"offset": ["until"]}}}

    @classmethod
    def row_values(cls, step):
        return {field: step.get(field, "") for field in DELAY_FIELDS}

    def definition_fields(self):
        return {field: getattr(self, field) for field in DELAY_FIELDS if getattr(self, field)}

    @classmethod
    def reach(cls, run: Run, step: StepJSON) -> Next:
        """Log when the delay ends and move past it; the run waits until then (a delay already
        over carries on at once)."""
        try:
            until = wake_time(step, run.scope(), run.now)
        except (RenderError, ValueError) as exc:
            raise StepFailed(str(exc)) from exc
        except OverflowError as exc:  # a date from the data near the calendar's end, plus the offset
            raise StepFailed(f"until: the wait would end beyond the calendar's last day ({exc})") from exc
        step_done(run.cursor)
        run.log(step, StepRunStatus.SUCCEEDED, output={"until": until})
        return Next(wake_at=until)

    @classmethod
    def waiting_state(cls, step_run, execution):
        if execution.status == ExecutionStatus.CANCELED:
            until = (step_run.output or {}).get("until") or "?"
            return "canceled", f"canceled while waiting (the wait would have ended {format_iso_moment(until)})"
        if execution.status == ExecutionStatus.WAITING:
            return "waiting", f"waiting until {format_moment(execution.wake_at)}"
        return None

    @classmethod
    def timeline(cls, output, now):
        return {"until": output["until"].isoformat(), "waits": format_delta(max(output["until"] - now, timedelta(0)))}


def wake_time(step: dict[str, Any], scope: Any, now: datetime) -> datetime:
    """The moment the delay is over (may be in the past, in which case the run carries on)."""
    if step.get("duration"):
        moment = now + parse_duration(step["duration"])
    else:
        text = render(step["until"], scope).strip()
        try:
            target = to_date(text)
        except Exception as exc:
            raise ValueError(f"until: {text!r} is not a date or date-time") from exc
        if not isinstance(target, datetime):
            target = datetime.combine(target, time(0, 0))
        moment = target if timezone.is_aware(target) else timezone.make_aware(target, ZoneInfo("UTC"))
        if step.get("offset"):
            moment += parse_duration(step["offset"], allow_negative=True)
    if step.get("at"):
        moment = _at_time_of_day(moment, step["at"], _customer_zone(scope))
    return moment


def _customer_zone(scope: Any) -> ZoneInfo:
    customer = scope.resolve("customer") if hasattr(scope, "resolve") else None
    name = customer.get("timezone") if isinstance(customer, dict) else None
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _at_time_of_day(moment: datetime, at: str, zone: ZoneInfo) -> datetime:
    """The first ``at`` o'clock (local) at or after ``moment``."""
    hour, minute = (int(part) for part in at.split(":"))
    local = moment.astimezone(zone)
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate < local:
        candidate = (local + timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    # normalise through UTC so a daylight-saving gap lands on a real instant
    return candidate.astimezone(ZoneInfo("UTC"))
