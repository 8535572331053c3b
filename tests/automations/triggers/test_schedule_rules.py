"""Schedule arithmetic: cron across daylight-saving changes, calendar rules, intervals, catch-up."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from automations.triggers.schedule_rules import Schedule

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc


def slots(spec, start, end):
    schedule, found, moment = Schedule(spec), [], start
    while True:
        slot = schedule.next_after(moment)
        if slot.at > end:
            return found
        found.append(slot)
        moment = slot.at


def test_weekly_cron_in_berlin_over_both_daylight_saving_changes():
    spec = {"kind": "cron", "expression": "0 9 * * 1", "timezone": "Europe/Berlin"}
    fired = slots(spec, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    local = [slot.at.astimezone(BERLIN) for slot in fired]
    assert all((t.weekday(), t.hour, t.minute) == (0, 9, 0) for t in local)
    mondays = [t.date() for t in local]
    assert mondays == sorted(set(mondays)), "each Monday once"
    assert len(mondays) == 39  # every Monday from March 2 to November 30
    by_day = {t.date().isoformat(): slot.at for t, slot in zip(local, fired)}
    assert by_day["2026-03-23"].hour == 8 and by_day["2026-03-30"].hour == 7  # UTC+1 before, UTC+2 after
    assert by_day["2026-10-19"].hour == 7 and by_day["2026-10-26"].hour == 8


def test_the_repeated_hour_in_october_fires_once():
    spec = {"kind": "cron", "expression": "30 2 * * *", "timezone": "Europe/Berlin"}
    fired = slots(spec, datetime(2026, 10, 24, 12, tzinfo=UTC), datetime(2026, 10, 26, 12, tzinfo=UTC))
    assert [s.key for s in fired] == ["2026-10-25T02:30", "2026-10-26T02:30"]
    assert fired[0].at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 (still CEST)


def test_the_skipped_hour_in_march_fires_once_an_hour_later_on_the_clock():
    spec = {"kind": "cron", "expression": "30 2 * * *", "timezone": "Europe/Berlin"}
    fired = slots(spec, datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 3, 30, 12, tzinfo=UTC))
    assert [s.key for s in fired] == ["2026-03-29T02:30", "2026-03-30T02:30"]
    assert fired[0].at.astimezone(BERLIN).hour == 3


def calendar_days(rule, year=2028, **extra):
    spec = {"kind": "calendar", "rule": rule, "time": "09:00", "timezone": "UTC", **extra}
    fired = slots(spec, datetime(year - 1, 12, 31, 12, tzinfo=UTC), datetime(year, 12, 31, 23, tzinfo=UTC))
    assert all((s.at.hour, s.at.minute) == (9, 0) for s in fired)
    return [s.at.date().isoformat() for s in fired]


def test_first_and_last_day_of_month_in_a_leap_year():
    assert calendar_days("first_day_of_month")[:3] == ["2028-01-01", "2028-02-01", "2028-03-01"]
    last = calendar_days("last_day_of_month")
    assert len(last) == 12 and last[1] == "2028-02-29" and last[3] == "2028-04-30"
    assert calendar_days("last_day_of_month", year=2027)[1] == "2027-02-28"


def test_business_days():
    first = calendar_days("first_business_day_of_month")
    assert first[0] == "2028-01-03"  # Jan 1 2028 is a Saturday
    assert first[3] == "2028-04-03"  # Apr 1-2 are a weekend
    last = calendar_days("last_business_day_of_month")
    assert last[3] == "2028-04-28"  # Apr 29-30 are a weekend
    assert last[1] == "2028-02-29"


def test_day_of_month_clamps_to_short_months():
    assert calendar_days("day_of_month", day=31)[:4] == ["2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30"]
    assert calendar_days("day_of_month", day=15)[1] == "2028-02-15"


def test_nth_weekday():
    assert calendar_days("nth_weekday_of_month", n=2, weekday="tuesday")[:2] == ["2028-01-11", "2028-02-08"]
    assert calendar_days("nth_weekday_of_month", n=-1, weekday="friday")[:2] == ["2028-01-28", "2028-02-25"]
    fifth_mondays = calendar_days("nth_weekday_of_month", n=5, weekday="monday")
    assert fifth_mondays[0] == "2028-01-31" and len(fifth_mondays) == 4  # only months with five Mondays


def test_quarter_and_year():
    assert calendar_days("first_day_of_quarter") == ["2028-01-01", "2028-04-01", "2028-07-01", "2028-10-01"]
    assert calendar_days("first_day_of_year") == ["2028-01-01"]


def test_calendar_time_in_a_timezone():
    spec = {"kind": "calendar", "rule": "first_day_of_month", "time": "08:30", "timezone": "America/New_York"}
    slot = Schedule(spec).next_after(datetime(2026, 11, 20, tzinfo=UTC))
    assert slot.at == datetime(2026, 12, 1, 13, 30, tzinfo=UTC) and slot.key == "2026-12-01T08:30"


def test_interval_slots_fall_on_whole_multiples():
    schedule = Schedule({"kind": "interval", "every": "1h"})
    assert schedule.next_after(datetime(2026, 11, 20, 10, 17, tzinfo=UTC)).at == datetime(2026, 11, 20, 11, tzinfo=UTC)
    anchored = Schedule({"kind": "interval", "every": "24h", "start": "2026-01-01T06:00:00+00:00"})
    assert anchored.next_after(datetime(2026, 11, 20, 10, tzinfo=UTC)).at == datetime(2026, 11, 21, 6, tzinfo=UTC)


@pytest.mark.parametrize("spec", [{"kind": "interval", "every": "1h"},
                                  {"kind": "cron", "expression": "0 * * * *", "timezone": "Europe/Berlin"}])
def test_missed_slots_collapse_into_the_latest(spec):
    schedule = Schedule(spec)
    down_since = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    latest = schedule.latest_at_or_before(down_since + timedelta(days=3, minutes=20), after=down_since)
    assert latest.at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert schedule.latest_at_or_before(down_since + timedelta(minutes=59), after=down_since) is None


@pytest.mark.parametrize("moment", [datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 3, 29, 1, 10, tzinfo=UTC),
                                    datetime(2026, 3, 29, 1, 29, 59, tzinfo=UTC)])
def test_asked_just_after_the_spring_change_the_skipped_slot_is_still_ahead(moment):
    # At 01:10 UTC the Berlin clock already reads 03:10, but the 02:30 slot fires at 01:30 UTC.
    schedule = Schedule({"kind": "cron", "expression": "30 2 * * *", "timezone": "Europe/Berlin"})
    slot = schedule.next_after(moment)
    assert (slot.at, slot.key) == (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "2026-03-29T02:30")


def test_asked_in_the_second_pass_of_the_repeated_hour_no_past_slot_comes_back():
    # 01:10 UTC on 25 October is the second 02:10 in Berlin; the 02:30 slot was the first one.
    schedule = Schedule({"kind": "cron", "expression": "30 2 * * *", "timezone": "Europe/Berlin"})
    slot = schedule.next_after(datetime(2026, 10, 25, 1, 10, tzinfo=UTC))
    assert slot.key == "2026-10-26T02:30"
    every_quarter = Schedule({"kind": "cron", "expression": "*/15 * * * *", "timezone": "Europe/Berlin"})
    assert every_quarter.next_after(datetime(2026, 10, 25, 1, 10, tzinfo=UTC)).at == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)


def test_a_quarter_hourly_cron_fires_each_instant_of_the_spring_change_once():
    spec = {"kind": "cron", "expression": "*/15 * * * *", "timezone": "Europe/Berlin"}
    fired = slots(spec, datetime(2026, 3, 29, 0, 40, tzinfo=UTC), datetime(2026, 3, 29, 2, 10, tzinfo=UTC))
    assert [s.at.strftime("%H:%M") for s in fired] == ["00:45", "01:00", "01:15", "01:30", "01:45", "02:00"]


def test_intervals_are_real_time_from_a_local_start():
    spec = {"kind": "interval", "every": "24h", "start": "2026-03-28T09:00", "timezone": "Europe/Berlin"}
    fired = slots(spec, datetime(2026, 3, 28, 0, tzinfo=UTC), datetime(2026, 3, 31, 0, tzinfo=UTC))
    # 09:00 CET is 08:00 UTC; 24 hours later is 10:00 in Berlin once the clocks have gone forward.
    assert [s.at.hour for s in fired] == [8, 8, 8]


def test_first_business_day_in_bavaria_skips_new_years_day():
    spec = {"kind": "calendar", "rule": "first_business_day_of_month", "time": "09:00", "timezone": "Europe/Berlin"}
    moment = datetime(2026, 12, 15, tzinfo=UTC)
    assert Schedule(spec).next_after(moment).key == "2027-01-01T09:00"  # a Friday, and no calendar named
    bavaria = Schedule({**spec, "holidays": {"country": "DE", "subdiv": "BY"}})
    assert bavaria.next_after(moment).key == "2027-01-04T09:00"
    assert not bavaria.calendar.is_business_day(datetime(2027, 1, 6).date()), "Epiphany is a holiday in Bavaria"
    berlin = Schedule({**spec, "holidays": {"country": "DE", "subdiv": "BE"}})
    assert berlin.calendar.is_business_day(datetime(2027, 1, 6).date()), "but not in Berlin"


def test_first_business_day_in_the_us_when_the_first_monday_is_labor_day():
    spec = {"kind": "calendar", "rule": "first_business_day_of_month", "time": "09:00",
            "timezone": "America/New_York", "holidays": {"country": "US"}}
    # September 2029 starts on a Saturday; Monday the 3rd is Labor Day.
    assert Schedule(spec).next_after(datetime(2029, 8, 15, tzinfo=UTC)).key == "2029-09-04T09:00"


def test_last_business_day_skips_a_holiday_at_the_end_of_the_month():
    spec = {"kind": "calendar", "rule": "last_business_day_of_month", "time": "09:00",
            "timezone": "America/New_York", "holidays": {"country": "US"}}
    # Monday 31 May 2027 is Memorial Day: the last business day of May is Friday the 28th.
    assert Schedule(spec).next_after(datetime(2027, 5, 1, tzinfo=UTC)).key == "2027-05-28T09:00"
