"""When a schedule fires: interval, cron (5 fields) and calendar rules, in the schedule's timezone.

Slots are computed on local wall-clock time and then placed on the timeline, so ``0 9 * * 1`` in
Europe/Berlin is 09:00 Berlin time on both sides of a daylight-saving change. A slot is known by
its local wall time (``slot_key``): the hour that repeats when clocks go back holds one slot, not
two. A local time that does not exist (the hour skipped in spring) fires at the same wall time
read with the pre-change offset, which is one hour later on the clock; where that instant is also
the slot of a real wall time just after the change, the instant fires once, under the earlier key.
Interval slots are real (UTC) time: ``every: 24h`` is 24 hours apart across a change, counted from
``start`` (read in the schedule's timezone when it has no offset).

Business-day rules skip weekends and, with ``"holidays": {"country": "DE", "subdiv": "BY"}``, that
place's public holidays.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from automations.business_days import Calendar
from automations.durations import parse as parse_duration

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: The epoch intervals count from when the schedule gives no start: slots fall on whole multiples.
UTC = ZoneInfo("UTC")
INTERVAL_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
#: How many wall-clock candidates ``next_after`` may pass over (those of a repeated hour already
#: behind the moment): one per minute for a day is far more than any change needs.
MAX_CANDIDATES = 24 * 60


@dataclass(frozen=True)
class Slot:
    """One intended firing: the instant (UTC) and its identity (local wall time in the schedule's zone)."""

    at: datetime
    key: str


class Schedule:
    """A validated schedule object from a definition's trigger."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.kind = spec["kind"]
        self.zone = ZoneInfo(spec.get("timezone") or "UTC")
        self.calendar = Calendar(spec.get("holidays"))

    # -- public ----------------------------------------------------------------------------------

    def next_after(self, moment: datetime) -> Slot:
        """The first slot strictly after ``moment``."""
        if self.kind == "interval":
            return self._next_interval(moment)
        # Start one spring shift back: a wall time in the skipped hour fires at the old offset, so
        # just after the change (the clock already reads 03:10) the 02:30 slot is still ahead.
        wall = moment.astimezone(self.zone).replace(tzinfo=None) - self._spring_shift(moment)
        for _ in range(MAX_CANDIDATES):
            wall = self._next_cron(wall) if self.kind == "cron" else self._next_calendar(wall)
            slot = self._slot(wall)
            # Wall order is not time order around a change: in the second pass of a repeated hour,
            # its wall times are slots already behind us.
            if slot.at > moment:
                return slot
        raise ValueError(f"no slot after {moment.isoformat()} for {self.spec}")

    def latest_at_or_before(self, moment: datetime, after: datetime) -> Slot | None:
        """The last slot in ``(after, moment]``: the one catch-up run for every slot missed since
        ``after`` (None if no slot fell in between)."""
        if self.kind == "interval":
            every = parse_duration(self.spec["every"])
            anchor = self._anchor()
            count = (moment - anchor) // every
            candidate = anchor + count * every
            return Slot(candidate, candidate.isoformat()) if candidate > after else None
        latest = None
        slot = self.next_after(after)
        for _ in range(100_000):  # bounded: one slot per minute for more than two months
            if slot.at > moment:
                return latest
            latest = slot
            slot = self.next_after(slot.at)
        return latest

    def _spring_shift(self, moment: datetime) -> timedelta:
        """How far the clocks went forward in the day before ``moment`` (zero if they did not)."""
        now, before = moment.astimezone(self.zone), (moment - timedelta(days=1)).astimezone(self.zone)
        return max(timedelta(0), now.utcoffset() - before.utcoffset())

    # -- kinds -----------------------------------------------------------------------------------

    def _anchor(self) -> datetime:
        start = self.spec.get("start")
        if start:
            parsed = datetime.fromisoformat(start)
            # The start is read in the schedule's timezone; from there on it is real time.
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=self.zone)).astimezone(UTC)
        return INTERVAL_EPOCH

    def _next_interval(self, moment: datetime) -> Slot:
        every = parse_duration(self.spec["every"])
        anchor = self._anchor()
        count = (moment - anchor) // every + 1
        candidate = anchor + count * every
        return Slot(candidate, candidate.isoformat())

    def _next_cron(self, local: datetime) -> datetime:
        return croniter(self.spec["expression"], local).get_next(datetime)

    def _next_calendar(self, local: datetime) -> datetime:
        at = time.fromisoformat(self.spec.get("time", "00:00"))
        year, month = local.year, local.month
        for _ in range(12 * 30):
            day = self._rule_day(year, month)
            if day is not None:
                candidate = datetime.combine(day, at)
                if candidate > local:
                    return candidate
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        raise ValueError(f"no slot within 30 years for {self.spec}")

    def _rule_day(self, year: int, month: int) -> date | None:
        """The rule's day in that month, or None when the rule has no day in it."""
        rule = self.spec["rule"]
        last = calendar.monthrange(year, month)[1]
        if rule == "first_day_of_month":
            return date(year, month, 1)
        if rule == "last_day_of_month":
            return date(year, month, last)
        if rule == "day_of_month":
            return date(year, month, min(self.spec["day"], last))  # day 31 means the last day in shorter months
        if rule == "first_business_day_of_month":
            return self.calendar.first_from(date(year, month, 1))
        if rule == "last_business_day_of_month":
            return self.calendar.first_from(date(year, month, last), step=-1)
        if rule == "nth_weekday_of_month":
            weekday, n = WEEKDAYS.index(self.spec["weekday"]), self.spec["n"]
            days = [date(year, month, d) for d in range(1, last + 1) if date(year, month, d).weekday() == weekday]
            return days[-1] if n == -1 else (days[n - 1] if n <= len(days) else None)
        if rule == "first_day_of_quarter":
            return date(year, month, 1) if month in (1, 4, 7, 10) else None
        if rule == "first_day_of_year":
            return date(year, 1, 1) if month == 1 else None
        raise ValueError(f"unknown calendar rule {rule!r}")

    def _slot(self, wall: datetime) -> Slot:
        # fold=0: in the repeated hour, the first occurrence; in the skipped hour, the pre-change offset.
        at = wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        return Slot(at, wall.isoformat(timespec="minutes"))
