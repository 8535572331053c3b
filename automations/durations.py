"""Durations as written in definitions: ``30s``, ``15m``, ``24h``, ``3d``, ``2w`` or ISO 8601 (``P3D``)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.utils.dateparse import parse_duration

from billing_events.errors import InvalidInput

_NUMBER = r"\d{1,6}(?:[.,]\d{1,6})?"
#: Durations as ``parse`` reads them, as a regular expression (JSON Schema pattern): ``30s`` ...
#: ``2w``, or ISO 8601 (``P3D``, ``PT1H``).
DURATION = (rf"^(?:\s*\d{{1,6}}\s*[smhdw]\s*|P(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?)$")
#: A time of day, ``HH:MM`` on a 24-hour clock (a delay's ``at``, a calendar schedule's ``time``).
TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_SHORT = re.compile(r"^\s*(-?)(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: The longest duration a definition may hold (about ten years): longer ones are refused on save,
#: where the error can name the field, instead of overflowing the calendar when a run adds them
#: to its clock.
MAX_DURATION = timedelta(days=3660)


def parse(value: object, *, field: str = "duration", allow_negative: bool = False) -> timedelta:
    """The timedelta ``value`` stands for; :class:`InvalidInput` naming ``field`` if it is not one."""
    if isinstance(value, str):
        match = _SHORT.match(value)
        try:
            if match:
                sign, amount, unit = match.groups()
                delta = timedelta(**{_UNITS[unit]: int(amount)})
                delta = -delta if sign else delta
            elif value.lstrip("-").startswith("P"):
                delta = parse_duration(value)
            else:
                delta = None
        except (OverflowError, ValueError):  # more days than a date can hold
            delta = None
        if delta is not None:
            if delta < timedelta(0) and not allow_negative:
                raise InvalidInput(f"{value!r} is negative; a duration must be positive", field=field)
            if abs(delta) > MAX_DURATION:
                raise InvalidInput(f"{value!r} is longer than 10 years, the longest duration allowed", field=field)
            return delta
    raise InvalidInput(
        # Said beside the builder's field: the words an operator writes (ISO 8601 is still read, for the API).
        f"{value!r} is not a duration; write a number and a unit: 30s, 15m, 24h, 3d or 2w", field=field
    )


def format_delta(delta: timedelta) -> str:
    """A short human form: ``3d``, ``1d 2h``, ``45s``."""
    seconds = int(delta.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return sign + (" ".join(parts) or "0s")


def format_moment(moment: datetime | None) -> str:
    """A moment as the step log writes it: ``2026-03-04 09:00 UTC`` (``?`` when unknown)."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "?"


def format_iso_moment(iso: str) -> str:
    """An ISO time as stored in a step's output, written like :func:`format_moment`."""
    try:
        return format_moment(datetime.fromisoformat(iso.replace("Z", "+00:00")))
    except ValueError:
        return iso
