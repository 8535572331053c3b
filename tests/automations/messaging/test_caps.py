"""Frequency caps: a rolling count over the messages already sent to a customer."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from automations.messaging.caps import Cap, caps_for, check

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def cap(**config) -> Cap:
    return Cap.from_config({"max": 1, "period": "1d", **config})


def test_under_the_cap_the_message_goes():
    assert check([cap(max=2)], "email", [("email", NOW - timedelta(hours=3))], NOW) is None


def test_at_the_cap_it_waits_until_the_oldest_counted_message_ages_out():
    sent = [("email", NOW - timedelta(hours=20)), ("email", NOW - timedelta(hours=2))]
    capped = check([cap(max=2)], "email", sent, NOW)
    assert capped.until == NOW + timedelta(hours=4) and capped.sent == 2 and not capped.skip


def test_only_the_cap_channels_count_and_are_held():
    email_only = cap(channels=["email"])
    assert check([email_only], "email", [("sms", NOW - timedelta(hours=1))], NOW) is None
    assert check([email_only], "sms", [("email", NOW - timedelta(hours=1))], NOW) is None


def test_messages_older_than_the_period_do_not_count():
    assert check([cap()], "email", [("email", NOW - timedelta(days=1))], NOW) is None


def test_a_skipping_cap_wins_over_a_delaying_one():
    sent = [("email", NOW - timedelta(hours=1))]
    capped = check([cap(), cap(on_cap="skip", period="1w")], "email", sent, NOW)
    assert capped.skip


def test_of_two_delaying_caps_the_later_release_is_kept():
    sent = [("email", NOW - timedelta(hours=1))]
    capped = check([cap(), cap(period="1w")], "email", sent, NOW)
    assert capped.until == NOW - timedelta(hours=1) + timedelta(weeks=1)


def test_the_automation_caps_replace_the_setting():
    setting = [{"max": 5, "period": "1d"}]
    assert [c.max for c in caps_for({}, setting)] == [5]
    assert [c.max for c in caps_for({"frequency_caps": [{"max": 1, "period": "1h"}]}, setting)] == [1]
    assert caps_for({"frequency_caps": []}, setting) == []
