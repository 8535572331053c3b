"""A backtest's period: bounds given as ISO 8601 dates or date-times, errors naming the field."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from billing_events.errors import InvalidInput


def parse_bound(value: Any, field: str, *, end: bool = False) -> datetime:
    """A period bound: an ISO 8601 date-time with an offset, or a date (UTC midnight; as ``to``, the
    end of that day). InvalidInput naming ``field`` otherwise."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        try:
            moment = datetime.combine(value + timedelta(days=1 if end else 0), time(), timezone.utc)
        except OverflowError as exc:
            raise InvalidInput(f"{value.isoformat()} is out of range", field=field) from exc
    elif isinstance(value, str) and value and not any(character.isspace() for character in value):
        try:
            day = parse_date(value)
            moment = parse_datetime(value) if day is None else None
        except ValueError as exc:
            raise InvalidInput(f"{value!r} is not a valid date: {exc}", field=field) from exc
        if day is not None:
            return parse_bound(day, field, end=end)
        if moment is None:
            raise InvalidInput(f"{value!r} is not an ISO 8601 date (2026-10-01) or date-time "
                               "(2026-10-01T00:00:00Z)", field=field)
    else:
        raise InvalidInput("must be an ISO 8601 date or date-time, without spaces", field=field)
    if moment.tzinfo is None:
        raise InvalidInput("must include a timezone offset (Z for UTC), or be a plain date", field=field)
    try:
        return moment.astimezone(timezone.utc)
    except (OverflowError, ValueError) as exc:
        raise InvalidInput(f"{value} is out of range", field=field) from exc
