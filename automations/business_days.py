"""Business days: Monday to Friday, minus the public holidays of a country (and subdivision) named
in a definition as ``{"country": "DE", "subdiv": "BY"}``, as the ``holidays`` package knows them."""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays

Errors = list[dict[str, str]]


class Calendar:
    """Which days are business days: weekdays that are not a holiday of the named place."""

    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        spec = spec or {}
        self._holidays = _country_holidays(spec["country"], spec.get("subdiv")) if spec.get("country") else None

    def is_business_day(self, day: date) -> bool:
        if day.weekday() >= 5:
            return False
        return self._holidays is None or day not in self._holidays

    def first_from(self, day: date, step: int = 1) -> date:
        """``day`` if it is a business day, else the next one (``step=-1``: the previous one)."""
        while not self.is_business_day(day):
            day += timedelta(days=step)
        return day

    def add(self, day: date, count: int) -> date:
        """The ``count``-th business day after ``day`` (``day`` itself does not count)."""
        for _ in range(count):
            day = self.first_from(day + timedelta(days=1))
        return day


@lru_cache(maxsize=64)
def _country_holidays(country: str, subdiv: str | None) -> holidays.HolidayBase:
    # One object per place, shared: it fills in each year's holidays the first time a date of that
    # year is looked up, so a schedule that runs for years keeps it small and fast.
    return holidays.country_holidays(country, subdiv=subdiv)


@lru_cache(maxsize=1)
def _supported() -> dict[str, list[str]]:
    return holidays.list_supported_countries()


def supported_countries() -> dict[str, list[str]]:
    """The country codes a holiday calendar can name, each with the subdivisions it can name."""
    return dict(_supported())


def validate_holidays(value: Any, path: str) -> Errors:
    """Problems with a ``holidays`` object: an unknown country or subdivision names its field."""
    if not isinstance(value, dict):
        return [{"field": path, "message": 'must be an object such as {"country": "DE", "subdiv": "BY"}'}]
    errors = [{"field": f"{path}.{key}", "message": "is not a known field here"}
              for key in sorted(set(value) - {"country", "subdiv"})]
    country, subdiv = value.get("country"), value.get("subdiv")
    if not isinstance(country, str) or country not in _supported():
        return errors + [{"field": f"{path}.country",
                          "message": f"{country!r} is not a country with a holiday calendar (ISO 3166 code such as DE or US)"}]
    subdivisions = _supported()[country]
    if "subdiv" in value and subdiv not in subdivisions:  # null too: leave it out for the whole country
        known = ", ".join(subdivisions) if subdivisions else "none"
        said = f"{subdiv!r} is not a subdivision of {country}" if isinstance(subdiv, str) else "must be a subdivision code"
        errors.append({"field": f"{path}.subdiv", "message": f"{said}; known: {known} (or leave it out)"})
    return errors
