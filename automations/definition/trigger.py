"""The parts of a trigger that more than its kind check: a schedule (interval, cron, calendar) and a
timezone (the schedule preview's too), and the event types that take a parameter. Each trigger
kind checks the rest (``automations.trigger_kinds``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from automations.business_days import validate_holidays
from automations.durations import TIME_OF_DAY, parse as parse_duration
from billing_events.errors import InvalidInput

CALENDAR_RULES = (
    "first_day_of_month", "last_day_of_month", "first_business_day_of_month", "last_business_day_of_month",
    "day_of_month", "nth_weekday_of_month", "first_day_of_quarter", "first_day_of_year",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TRIGGER_PARAMETERS = {"subscription.ending_soon": "days_before", "usage.threshold_exceeded": "threshold_percent"}

Errors = list[dict[str, str]]


def _unknown_keys(value: dict[str, Any], allowed: set[str], path: str) -> Errors:
    unknown = sorted(set(value) - allowed)
    return [{"field": f"{path}.{key}", "message": "is not a known field here"} for key in unknown]


def validate_timezone(value: Any, path: str) -> Errors:
    """An IANA timezone name (or None) at ``path``."""
    if value is None:
        return []
    if isinstance(value, str) and value:
        try:
            ZoneInfo(value)
            return []
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return [{"field": path, "message": f"{value!r} is not an IANA timezone such as Europe/Berlin"}]


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def validate_schedule(schedule: Any, path: str) -> Errors:
    """Problems with a schedule object (interval, cron or calendar)."""
    if not isinstance(schedule, dict):
        return [{"field": path, "message": 'is required: an object with "kind" (interval, cron or calendar)'}]
    kind = schedule.get("kind")
    errors = validate_timezone(schedule.get("timezone"), f"{path}.timezone")
    if kind == "interval":
        errors += _unknown_keys(schedule, {"kind", "every", "timezone", "start"}, path)
        try:
            if not parse_duration(schedule.get("every"), field=f"{path}.every"):
                errors.append({"field": f"{path}.every", "message": "must be longer than no time at all"})
        except InvalidInput as exc:
            errors += exc.errors
        if "start" in schedule and not _is_datetime(schedule["start"]):
            errors.append({"field": f"{path}.start",
                           "message": f"{schedule['start']!r} is not an ISO 8601 date-time such as 2026-01-01T09:00"})
    elif kind == "cron":
        errors += _unknown_keys(schedule, {"kind", "expression", "timezone"}, path)
        expression = schedule.get("expression")
        if not isinstance(expression, str) or len(expression.split()) != 5:
            errors.append({"field": f"{path}.expression",
                           "message": f"{expression!r} is not a 5-field cron expression (minute hour day month weekday)"})
        elif not croniter.is_valid(expression):
            errors.append({"field": f"{path}.expression", "message": f"{expression!r} is not a valid cron expression"})
    elif kind == "calendar":
        errors += _unknown_keys(schedule, {"kind", "rule", "time", "timezone", "day", "n", "weekday", "holidays"}, path)
        if "holidays" in schedule:
            errors += validate_holidays(schedule["holidays"], f"{path}.holidays")
        rule = schedule.get("rule")
        if rule not in CALENDAR_RULES:
            errors.append({"field": f"{path}.rule", "message": f"{rule!r} is not one of {', '.join(CALENDAR_RULES)}"})
        time = schedule.get("time", "00:00")
        if not isinstance(time, str) or not TIME_OF_DAY.match(time):
            errors.append({"field": f"{path}.time", "message": f"{time!r} is not a time of day (HH:MM, 24-hour)"})
        if rule == "day_of_month":
            day = schedule.get("day")
            if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 31:
                errors.append({"field": f"{path}.day", "message": "is required: a day of the month from 1 to 31"})
        if rule == "nth_weekday_of_month":
            n = schedule.get("n")
            if not isinstance(n, int) or isinstance(n, bool) or n not in (1, 2, 3, 4, 5, -1):
                errors.append({"field": f"{path}.n", "message": "is required: 1 to 5, or -1 for the last"})
            if schedule.get("weekday") not in WEEKDAYS:
                errors.append({"field": f"{path}.weekday", "message": f"is required: one of {', '.join(WEEKDAYS)}"})
    else:
        errors.append({"field": f"{path}.kind", "message": f"{kind!r} is not a schedule kind; use interval, cron or calendar"})
    return errors
