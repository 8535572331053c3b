"""What a send window and a frequency cap may say: their JSON Schemas (published with the
definition's schema) and the checks on save that JSON Schema cannot express, with errors naming
the field."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from automations.durations import parse as parse_duration, pattern as duration_pattern
from automations.messaging.caps import CHANNELS, DELAY, SKIP
from automations.messaging.windows import DAYS
from billing_events.errors import InvalidInput

Errors = list[dict[str, str]]
TIME = r"^(?:[01]\d|2[0-3]):[0-5]\d$"
END_TIME = r"^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$"
MAX_CAP = 1000
MAX_PERIOD = timedelta(days=366)

SEND_WINDOW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Send window",
    "description": "Send only on these days between these hours, in the customer's timezone (else the "
                   "automation's); outside it the step waits until the window opens.",
    "properties": {
        "days": {"type": "array", "items": {"enum": list(DAYS)}, "minItems": 1, "uniqueItems": True,
                 "description": "Days of the week (default: every day)."},
        "from": {"type": "string", "pattern": TIME, "title": "a time of day (HH:MM, 24-hour)",
                 "description": "Opens at (HH:MM, local)."},
        "to": {"type": "string", "pattern": END_TIME, "title": "a time of day (HH:MM, 24-hour, or 24:00)",
               "description": "Closes at (HH:MM, local, later than from; 24:00 for midnight)."},
    },
    "required": ["from", "to"],
    "additionalProperties": False,
}

FREQUENCY_CAP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Frequency cap",
    "description": "At most max messages of these channels per customer in any period, counted across all "
                   "automations; a message over it is delayed until it fits, or skipped.",
    "properties": {
        "channels": {"type": "array", "items": {"enum": list(CHANNELS)}, "minItems": 1, "uniqueItems": True,
                     "description": "Which messages count and are held back (default: all)."},
        "max": {"type": "integer", "minimum": 1, "maximum": MAX_CAP},
        "period": {"type": "string", "pattern": duration_pattern(MAX_PERIOD),
                   "description": "A duration such as 1d or 1w (rolling), at most 366 days."},
        "on_cap": {"enum": [DELAY, SKIP], "description": "delay (default): send when it fits; skip: do not send."},
    },
    "required": ["max", "period"],
    "additionalProperties": False,
}


def _minutes(text: str) -> int:
    hour, minute = (int(part) for part in text.split(":"))
    return hour * 60 + minute


def _choices(value: Any, allowed: tuple[str, ...], path: str, what: str) -> Errors:
    if not isinstance(value, list) or not value:
        return [{"field": path, "message": f"must be a non-empty list of {what}: {', '.join(allowed)}"}]
    errors = [{"field": f"{path}[{index}]", "message": f"{item!r} is not one of {', '.join(allowed)}"}
              for index, item in enumerate(value) if item not in allowed]
    if not errors and len(set(value)) != len(value):
        errors.append({"field": path, "message": "lists a value twice"})
    return errors


def send_window_errors(window: Any, path: str) -> Errors:
    """Problems with a ``send_window``, each naming its field under ``path``."""
    if not isinstance(window, dict):
        return [{"field": path, "message": 'must be an object such as {"days": ["mon"], "from": "09:00", "to": "17:00"}'}]
    errors = [{"field": f"{path}.{key}", "message": "is not a field of a send window (days, from, to)"}
              for key in sorted(set(window) - {"days", "from", "to"})]
    if "days" in window:
        errors += _choices(window["days"], DAYS, f"{path}.days", "days")
    for field, pattern in (("from", TIME), ("to", END_TIME)):
        if field not in window:
            errors.append({"field": f"{path}.{field}", "message": "is required (HH:MM)"})
        elif not isinstance(window[field], str) or not re.match(pattern, window[field]):
            errors.append({"field": f"{path}.{field}",
                           "message": f"{window[field]!r} is not a time of day (HH:MM, 24-hour)"})
    if not errors and _minutes(window["to"]) <= _minutes(window["from"]):
        errors.append({"field": f"{path}.to", "message": f"must be later than from ({window['from']}); "
                                                         "a window does not run past midnight"})
    return errors


def frequency_caps_errors(caps: Any, path: str) -> Errors:
    """Problems with a list of frequency caps, each naming its field under ``path``."""
    if not isinstance(caps, list):
        return [{"field": path, "message": 'must be a list of caps such as [{"max": 1, "period": "1d"}]'}]
    errors: Errors = []
    for index, cap in enumerate(caps):
        where = f"{path}[{index}]"
        if not isinstance(cap, dict):
            errors.append({"field": where, "message": "must be an object with max and period"})
            continue
        errors += [{"field": f"{where}.{key}", "message": "is not a field of a frequency cap (channels, max, period, on_cap)"}
                   for key in sorted(set(cap) - {"channels", "max", "period", "on_cap"})]
        if "channels" in cap:
            errors += _choices(cap["channels"], CHANNELS, f"{where}.channels", "channels")
        limit = cap.get("max")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_CAP:
            errors.append({"field": f"{where}.max", "message": f"must be a whole number from 1 to {MAX_CAP}"})
        if "period" not in cap:
            errors.append({"field": f"{where}.period", "message": "is required: a duration such as 1d"})
        else:
            try:
                period = parse_duration(cap["period"], field=f"{where}.period", limit=MAX_PERIOD)
            except InvalidInput as exc:
                errors += exc.errors
            else:
                if not period:
                    errors.append({"field": f"{where}.period", "message": "must be longer than no time at all"})
        if cap.get("on_cap", DELAY) not in (DELAY, SKIP):
            errors.append({"field": f"{where}.on_cap", "message": f"{cap['on_cap']!r} is not one of delay, skip"})
    return errors
