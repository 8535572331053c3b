"""Send windows: the days of the week and hours of the day a message may go out, read on the wall
clock of a timezone. Pure functions of their arguments (no clock, no database)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class SendWindow:
    """``days`` (0 = Monday) from ``start`` until ``end`` (exclusive) local time, every week."""

    days: frozenset[int]
    start: time
    end: time

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SendWindow:
        """The window of a validated ``send_window`` config (``days`` defaults to every day)."""
        days = config.get("days") or DAYS
        return cls(frozenset(DAYS.index(day) for day in days), _time(config["from"]), _time(config["to"]))

    def is_open(self, moment: datetime, zone: ZoneInfo) -> bool:
        """Whether the window is open at ``moment`` (an aware datetime) on ``zone``'s wall clock."""
        local = moment.astimezone(zone)
        return local.weekday() in self.days and self.start <= local.time().replace(tzinfo=None) < self.end

    def next_open(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """``moment`` if the window is open then, else the instant (UTC) it next opens.

        The opening is the window's ``from`` on the wall clock of that day: across a
        daylight-saving change it is the same local time, so a different UTC hour. A ``from``
        that falls in the hour skipped in spring is read with the offset before the change (as
        a schedule's slot is), which lands just after the gap.
        """
        if self.is_open(moment, zone):
            return moment
        local = moment.astimezone(zone)
        for ahead in range(8):
            day = local.date() + timedelta(days=ahead)
            if day.weekday() not in self.days:
                continue
            opening = datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC)
            if opening > moment:
                return opening
        raise ValueError("a send window needs at least one day")  # validation keeps this out

    def describe(self) -> str:
        days = "every day" if len(self.days) == 7 else ", ".join(DAYS[day] for day in sorted(self.days))
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M}"


def _time(text: str) -> time:
    if text == "24:00":
        return time.max
    hour, minute = (int(part) for part in text.split(":"))
    return time(hour, minute)


def window_zone(customer: Any, definition: dict[str, Any]) -> ZoneInfo:
    """The timezone a send window is read in: the customer's, else the automation's
    (``timezone`` in the definition, else its schedule's), else UTC."""
    candidates = [customer.get("timezone") if isinstance(customer, dict) else None, definition.get("timezone"),
                  ((definition.get("trigger") or {}).get("schedule") or {}).get("timezone")]
    for name in candidates:
        if isinstance(name, str) and name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue  # a customer's unknown timezone: fall back rather than fail the message
    return UTC
