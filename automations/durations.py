"""Durations as written in definitions: ``30s``, ``15m``, ``24h``, ``3d``, ``2w`` or ISO 8601 (``P3D``).

One grammar serves the server and the published JSON Schema: :func:`pattern` writes it as a regular
expression that also holds the longest duration a field allows, so a client that follows the schema
never writes a duration the server refuses, and :func:`parse` reads a value by that same expression.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache

from django.utils.dateparse import parse_duration

from billing_events.errors import InvalidInput

#: The longest duration a definition may hold (about ten years): longer ones are refused on save,
#: where the error can name the field, instead of overflowing the calendar when a run adds them
#: to its clock.
MAX_DURATION = timedelta(days=3660)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: How much of a limit each part of an ISO 8601 duration may take. ISO parts add up (``P2DT36H``),
#: which no regular expression can sum; capping each part so the caps together stay under the
#: limit keeps the pattern exact. Numbers longer than six digits are not written at all.
_ISO_SHARES = (("D", 86400, 0.80), ("H", 3600, 0.10), ("M", 60, 0.05), ("S", 1, 0.04))
_MOST_DIGITS = 6
_FRACTION = r"(?:[.,][0-9]{1,6})?"
#: A time of day, ``HH:MM`` on a 24-hour clock (a delay's ``at``, a calendar schedule's ``time``).
TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _at_most(limit: int) -> str:
    """A regular expression for the whole numbers from 0 to ``limit`` written with at most as many
    digits as ``limit`` (leading zeros allowed within them), and never more than six."""
    limit = min(limit, 10 ** _MOST_DIGITS - 1)
    digits = str(limit)
    shorter = [rf"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    same_length = [digits[:i] + (f"[0-{int(d) - 1}]" if d != "1" else "0") + (rf"[0-9]{{{len(digits) - i - 1}}}" if i < len(digits) - 1 else "")
                   for i, d in enumerate(digits) if d != "0"]
    return "(?:" + "|".join(shorter + same_length + [digits]) + ")"


def iso_caps(limit: timedelta) -> dict[str, int]:
    """The largest number each part of an ISO 8601 duration may hold under ``limit``, by designator."""
    seconds = limit.total_seconds()
    return {designator: min(int(seconds * share // size), 10 ** _MOST_DIGITS - 1)
            for designator, size, share in _ISO_SHARES}


@lru_cache(maxsize=None)
def pattern(limit: timedelta = MAX_DURATION, *, signed: bool = False) -> str:
    """The grammar of a duration of at most ``limit``, as a regular expression (JSON Schema pattern):
    a number and a unit, or ISO 8601 with each part capped (:func:`iso_caps`)."""
    seconds = limit.total_seconds()
    minus = "-?" if signed else ""
    short = "|".join(f"{_at_most(int(seconds // size))}\\s*{unit}" for unit, size in _UNIT_SECONDS.items())
    caps = iso_caps(limit)
    date, *time = (f"(?:{_at_most(caps[d])}{_FRACTION}{d})?" for d, _, _ in _ISO_SHARES)
    iso = f"{minus}P{date}(?:T{''.join(time)})?"
    return rf"^(?:\s*{minus}(?:{short})\s*|{iso})$"


#: Durations of at most ten years, as :func:`parse` reads them (a JSON Schema pattern).
DURATION = pattern()
#: The same, also negative (a delay's offset before a moment).
SIGNED_DURATION = pattern(signed=True)
_SHORT = re.compile(r"^\s*(-?)([0-9]+)\s*([smhdw])\s*$")


def parse(value: object, *, field: str = "duration", allow_negative: bool = False,
          limit: timedelta = MAX_DURATION) -> timedelta:
    """The timedelta ``value`` stands for; :class:`InvalidInput` naming ``field`` if it is not one
    of at most ``limit``, or is negative where that is not allowed."""
    delta = _read(value)
    if delta is None:
        raise InvalidInput(
            # Said beside the builder's field: the words an operator writes (ISO 8601 is still read, for the API).
            f"{value!r} is not a duration; write a number and a unit: 30s, 15m, 24h, 3d or 2w", field=field
        )
    if delta < timedelta(0) and not allow_negative:
        raise InvalidInput(f"{value!r} is negative; a duration must be positive", field=field)
    if abs(delta) > limit:
        raise InvalidInput(f"{value!r} is longer than {_spoken(limit)}, the longest duration allowed here", field=field)
    if not re.fullmatch(pattern(limit, signed=True), value):
        raise InvalidInput(f"{value!r} {_too_large_part(value, limit)}", field=field)
    return delta


def _read(value: object) -> timedelta | None:
    """What ``value`` says in either form, bounds aside; ``None`` if it is neither."""
    if not isinstance(value, str):
        return None
    try:
        if match := _SHORT.match(value):
            sign, amount, unit = match.groups()
            delta = timedelta(**{_UNITS[unit]: int(amount)})
            return -delta if sign else delta
        if value.lstrip("-").startswith("P") and re.fullmatch(pattern(timedelta.max, signed=True), value):
            return parse_duration(value)
    except (OverflowError, ValueError):  # more days than a date can hold
        return None
    return None


def _too_large_part(value: str, limit: timedelta) -> str:
    if _SHORT.match(value):
        return "is written with too many digits; leave out leading zeros, or write it in a larger unit"
    caps = ", ".join(f"{number}{designator}" for designator, number in iso_caps(limit).items())
    return f"has a part too large for an ISO 8601 duration here (at most {caps}); write it as {_in_one_unit(value)}"


def _in_one_unit(value: str) -> str:
    """An ISO 8601 duration as one number and the largest unit that says it exactly (``36h``, ``3000d``)."""
    seconds = abs(int(parse_duration(value).total_seconds()))
    unit = next((unit for unit in "wdhm" if seconds % _UNIT_SECONDS[unit] == 0), "s")
    return f"{seconds // _UNIT_SECONDS[unit]}{unit}" if seconds else "0s"


def _spoken(limit: timedelta) -> str:
    return "10 years" if limit == MAX_DURATION else f"{limit.days} days"


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
