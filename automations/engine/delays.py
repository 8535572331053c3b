"""When a delay step ends: after a duration, or at a rendered date plus an offset, optionally
moved to a time of day in the customer's timezone."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from automations.durations import parse as parse_duration
from automations.templating import render, to_date


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
