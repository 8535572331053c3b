"""Send windows on a timezone's wall clock, across daylight-saving changes."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from automations.messaging.windows import SendWindow, window_zone

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC = timezone.utc


def window(**config) -> SendWindow:
    return SendWindow.from_config({"from": "09:00", "to": "17:00", **config})


def test_open_inside_the_hours_on_the_local_clock():
    # 08:30 UTC is 09:30 in Berlin in winter (UTC+1)
    assert window().is_open(datetime(2026, 1, 14, 8, 30, tzinfo=UTC), BERLIN)
    assert not window().is_open(datetime(2026, 1, 14, 7, 59, tzinfo=UTC), BERLIN)
    assert not window().is_open(datetime(2026, 1, 14, 16, 0, tzinfo=UTC), BERLIN), "17:00 itself is closed"


def test_an_open_window_lets_the_message_go_at_once():
    moment = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
    assert window().next_open(moment, BERLIN) == moment


def test_spring_forward_weekend_waits_to_nine_local_on_the_summer_offset():
    # Saturday 28 March 2026 21:00 in Berlin (CET); clocks go 02:00 -> 03:00 that night.
    saturday_evening = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)
    opens = window().next_open(saturday_evening, BERLIN)
    assert opens == datetime(2026, 3, 29, 7, 0, tzinfo=UTC), "09:00 CEST is 07:00 UTC, not 08:00"
    assert opens.astimezone(BERLIN).strftime("%a %H:%M %Z") == "Sun 09:00 CEST"


def test_autumn_back_waits_to_nine_local_on_the_winter_offset():
    saturday_evening = datetime(2026, 10, 24, 19, 0, tzinfo=UTC)  # 21:00 CEST; clocks go back that night
    assert window().next_open(saturday_evening, BERLIN) == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)


def test_an_opening_in_the_skipped_hour_lands_just_after_the_gap():
    early = SendWindow.from_config({"from": "02:30", "to": "05:00"})
    opens = early.next_open(datetime(2026, 3, 28, 23, 0, tzinfo=UTC), BERLIN)
    assert opens == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # read with the winter offset: 03:30 CEST
    assert early.is_open(opens, BERLIN)


def test_weekdays_only_skip_to_monday():
    friday_evening = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)  # 17:00 in New York
    weekdays = window(days=["mon", "tue", "wed", "thu", "fri"])
    assert weekdays.next_open(friday_evening, NEW_YORK) == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def test_before_the_opening_waits_for_today():
    assert window().next_open(datetime(2026, 11, 20, 6, 0, tzinfo=UTC), BERLIN) == \
        datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_until_midnight():
    late = SendWindow.from_config({"from": "18:00", "to": "24:00"})
    assert late.is_open(datetime(2026, 11, 20, 22, 59, tzinfo=UTC), BERLIN)
    assert not late.is_open(datetime(2026, 11, 20, 23, 0, tzinfo=UTC), BERLIN)


@pytest.mark.parametrize(("customer", "definition", "expected"), [
    ({"timezone": "Asia/Tokyo"}, {"timezone": "Europe/Berlin"}, "Asia/Tokyo"),
    ({"timezone": None}, {"timezone": "Europe/Berlin"}, "Europe/Berlin"),
    ({"timezone": "Mars/Olympus"}, {"timezone": "Europe/Berlin"}, "Europe/Berlin"),
    ({}, {"trigger": {"type": "schedule", "schedule": {"kind": "cron", "expression": "0 9 * * *",
                                                        "timezone": "America/New_York"}}}, "America/New_York"),
    (None, {}, "UTC"),
])
def test_the_customer_timezone_falls_back_to_the_automation(customer, definition, expected):
    assert window_zone(customer, definition).key == expected
