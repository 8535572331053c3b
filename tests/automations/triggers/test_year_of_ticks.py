"""A year of ``engine.tick()`` every 30 minutes: each schedule kind in six kinds of timezone fires
every slot exactly once, within one tick of its time, as an oracle written here computes them.

The oracle knows nothing of the project's schedule code. It lists the local days on which each
schedule fires (by plain date arithmetic), puts its wall time on the timeline with ``zoneinfo``'s
UTC-to-local conversion only, and applies the documented rule: a wall time that repeats when the
clocks go back fires at its first occurrence; one that does not exist (clocks went forward) fires
at that wall time read with the offset from before the change.
"""
from __future__ import annotations

import calendar
import time as stopwatch
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from automations import clock, services
from automations.models import Execution

pytestmark = pytest.mark.django_db
UTC = timezone.utc
START = datetime(2026, 1, 1, tzinfo=UTC)
TICK = timedelta(minutes=30)
TICKS = 365 * 48
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "Australia/Lord_Howe")
# 02:30 is in the hour skipped in spring and repeated in autumn in Berlin and Sydney, skipped in New
# York. 02:15 is in the hour skipped in spring in Berlin, New York, Sydney and Lord Howe (02:00-02:30 there)
# and in the hour repeated in autumn in Berlin and Sydney; 01:45 is in New York's and Lord Howe's
# repeated hour (Lord Howe goes back from 02:00 to 01:30).
CHANGE_TIME = time(2, 15)

# -- the oracle ----------------------------------------------------------------------------------


def instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """Where a local wall time falls on the timeline, by the documented rule."""
    nearby = {(wall - timedelta(hours=h)).replace(tzinfo=UTC).astimezone(zone).utcoffset() for h in (-18, 18)}
    readings = sorted(t for t in ((wall - offset).replace(tzinfo=UTC) for offset in nearby)
                      if t.astimezone(zone).replace(tzinfo=None) == wall)
    if readings:
        return readings[0]  # repeated: the first occurrence
    before = (wall - timedelta(hours=18)).replace(tzinfo=UTC).astimezone(zone).utcoffset()
    return (wall - before).replace(tzinfo=UTC)  # skipped: the offset from before the change


def month_days(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def is_business(day: date) -> bool:
    return day.weekday() < 5


def nth_weekday(n: int, weekday: int) -> Callable[[date], bool]:
    def rule(day: date) -> bool:
        if day.weekday() != weekday:
            return False
        if n == -1:
            return day.day + 7 > month_days(day)
        return (day.day - 1) // 7 + 1 == n
    return rule


DAY_RULES: dict[str, tuple[dict, Callable[[date], bool]]] = {
    "first_day_of_month": ({}, lambda d: d.day == 1),
    "last_day_of_month": ({}, lambda d: d.day == month_days(d)),
    "first_business_day_of_month": ({}, lambda d: is_business(d) and all(
        not is_business(d.replace(day=k)) for k in range(1, d.day))),
    "last_business_day_of_month": ({}, lambda d: is_business(d) and all(
        not is_business(d.replace(day=k)) for k in range(d.day + 1, month_days(d) + 1))),
    "day_of_month": ({"day": 31}, lambda d: d.day == month_days(d)),  # 31 means the last in short months
    "nth_weekday_of_month": ({"n": -1, "weekday": "sunday"}, nth_weekday(-1, 6)),  # Berlin's changes
    "first_day_of_quarter": ({}, lambda d: d.day == 1 and d.month in (1, 4, 7, 10)),
    "first_day_of_year": ({}, lambda d: d.day == 1 and d.month == 1),
}
EXTRA_NTH = {  # the Sundays the other zones change on
    "first_sunday": ({"rule": "nth_weekday_of_month", "n": 1, "weekday": "sunday"}, nth_weekday(1, 6)),
    "second_sunday": ({"rule": "nth_weekday_of_month", "n": 2, "weekday": "sunday"}, nth_weekday(2, 6)),
}


def daily_cases() -> dict[str, tuple[dict, time, Callable[[date], bool]]]:
    """name -> (schedule without timezone, local time of day, on which local days it fires)."""
    cases = {
        "cron 30 2 * * *": ({"kind": "cron", "expression": "30 2 * * *"}, time(2, 30), lambda d: True),
        # Every change in these zones falls on a Sunday; Sundays alone keep the year's runs fewer.
        "cron 45 1 * * 0": ({"kind": "cron", "expression": "45 1 * * 0"}, time(1, 45), lambda d: d.weekday() == 6),
        "cron 0 9 * * 1": ({"kind": "cron", "expression": "0 9 * * 1"}, time(9), lambda d: d.weekday() == 0),
    }
    for rule, (extra, fires) in DAY_RULES.items():
        cases[f"calendar {rule}"] = ({"kind": "calendar", "rule": rule, "time": "02:15", **extra}, CHANGE_TIME, fires)
    for name, (extra, fires) in EXTRA_NTH.items():
        cases[f"calendar {name}"] = ({"kind": "calendar", "time": "02:15", **extra}, CHANGE_TIME, fires)
    return cases


INTERVAL = {"kind": "interval", "every": "73h", "start": "2026-01-01T02:15"}  # drifts through every hour


def expected_slots(name: str, zone_name: str, end: datetime) -> list[datetime]:
    zone = ZoneInfo(zone_name)
    if name == "interval":
        first, slots = instant(datetime(2026, 1, 1, 2, 15), zone), []
        at = first
        while at <= end:
            if at > START:
                slots.append(at)
            at += timedelta(hours=73)  # real time, not wall-clock time
        return slots
    _, at, fires = daily_cases()[name]
    day, slots = date(2025, 12, 30), []
    while day <= end.date() + timedelta(days=2):
        if fires(day):
            moment = instant(datetime.combine(day, at), zone)
            if START < moment <= end:
                slots.append(moment)
        day += timedelta(days=1)
    return slots


def test_the_oracle_knows_the_changes():
    berlin, lord_howe = ZoneInfo("Europe/Berlin"), ZoneInfo("Australia/Lord_Howe")
    assert instant(datetime(2026, 3, 29, 2, 30), berlin) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert instant(datetime(2026, 10, 25, 2, 30), berlin) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # Lord Howe: +10:30 in winter, +11 in summer; clocks go back 02:00 -> 01:30 on 5 April 2026.
    assert instant(datetime(2026, 4, 5, 1, 45), lord_howe) == datetime(2026, 4, 4, 14, 45, tzinfo=UTC)
    # ... and forward 02:00 -> 02:30 on 4 October 2026: 02:15 is read at +10:30.
    assert instant(datetime(2026, 10, 4, 2, 15), lord_howe) == datetime(2026, 10, 3, 15, 45, tzinfo=UTC)


# -- the sweep -----------------------------------------------------------------------------------


#: The tick's parts that have nothing to do here: no automation listens to derived events, no run
#: waits (each ends at its stop step, in the task that starts it), no worker dies, no dispatch is
#: lost, a year's executions are kept. Left out, they would be four fifths of the year's ticks.
IDLE_PARTS = ("run_due_scans", "recover_dead_workers", "hand_out_due", "settle_orphaned_attempts", "prune_due")


@pytest.fixture
def quiet_tick(monkeypatch):
    """The tick with only its scheduling part, which is what is measured, and no task-queue receipt
    kept per run (django-q2 reads its settings once, at import)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SAVE_LIMIT", -1)
    for part in IDLE_PARTS:
        monkeypatch.setattr(f"automations.engine.sweep.{part}", lambda now: 0)


def test_a_year_of_half_hourly_ticks_fires_every_slot_once_in_every_timezone(engine, quiet_tick):
    """One year, one run of the engine for all: the 02:30 Berlin nightly job is among them."""
    clock.set_now(START)
    automations = {}
    for zone in ZONES:
        cases = {name: spec for name, (spec, _, _) in daily_cases().items()}
        cases["interval"] = INTERVAL
        for name, spec in cases.items():
            automation = services.create_automation({
                "name": f"{name} in {zone}", "trigger": {"type": "schedule", "schedule": {**spec, "timezone": zone}},
                "steps": [{"key": "done", "type": "stop"}]})
            services.activate(automation)
            automations[automation.pk] = (name, zone)

    began = stopwatch.monotonic()
    for _ in range(TICKS):  # one tick serves every automation, as in production
        engine.advance(minutes=30)
    elapsed = stopwatch.monotonic() - began
    end = clock.now()

    fired: dict[int, list[tuple[datetime, datetime]]] = {pk: [] for pk in automations}
    for pk, slot, started in Execution.objects.values_list("automation_id", "trigger__slot", "started_at"):
        fired[pk].append((datetime.fromisoformat(slot), started))
    problems = []
    for pk, (name, zone) in automations.items():
        runs = sorted(fired[pk])
        expected = expected_slots(name, zone, end)
        if [slot for slot, _ in runs] != expected:
            missing = sorted(set(expected) - {slot for slot, _ in runs})
            extra = sorted({slot for slot, _ in runs} - set(expected))
            problems.append(f"{name} in {zone}: {len(runs)} runs for {len(expected)} slots; "
                            f"missing {missing[:3]}, unexpected {extra[:3]}")
        late = [(slot, started) for slot, started in runs if not slot <= started < slot + TICK]
        if late:
            problems.append(f"{name} in {zone}: not run within one tick of the slot: {late[:3]}")
    nightly = next(pk for pk, case in automations.items() if case == ("cron 30 2 * * *", "Europe/Berlin"))
    berlin = dict(Execution.objects.filter(automation_id=nightly).values_list("slot_key", "trigger__slot"))
    assert len(berlin) == 365, "the Berlin nightly job ran every night"
    assert berlin["2026-03-29T02:30"] == "2026-03-29T01:30:00+00:00", "the skipped hour's run, at the old offset"
    assert berlin["2026-10-25T02:30"] == "2026-10-25T00:30:00+00:00", "the repeated hour's first 02:30, once"
    assert not problems, "\n".join(problems)
    print(f"a year of {TICKS} ticks for {len(automations)} schedules took {elapsed:.0f} s")
