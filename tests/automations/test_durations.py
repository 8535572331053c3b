"""A duration's published pattern and the server's reading of it agree: what the pattern allows
is accepted, what it does not is refused with an error naming the field, and the limits hold."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given, settings, strategies as st

from automations.durations import MAX_DURATION, iso_caps, parse, pattern
from automations.messaging.validation import MAX_PERIOD
from billing_events.errors import InvalidInput

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
LIMITS = [MAX_DURATION, MAX_PERIOD]


def accepted(value: str, limit: timedelta) -> bool:
    try:
        parse(value, field="every", limit=limit, allow_negative=True)
    except InvalidInput as refused:
        assert [error["field"] for error in refused.errors] == ["every"]
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(limit=st.sampled_from(LIMITS), amount=st.integers(0, 10**7), unit=st.sampled_from(list(UNITS)),
       zeros=st.integers(0, 2))
def test_a_number_and_a_unit_is_accepted_exactly_when_the_pattern_allows_it(limit, amount, unit, zeros):
    value = "0" * zeros + f"{amount}{unit}"
    matches = re.fullmatch(pattern(limit, signed=True), value) is not None
    assert accepted(value, limit) == matches
    if len(value) - 1 <= len(str(int(limit.total_seconds() // UNITS[unit]))) and len(value) <= 7:
        assert matches == (amount * UNITS[unit] <= limit.total_seconds()), "within its digits, only the limit counts"


@settings(max_examples=300, deadline=None)
@given(data=st.data(), limit=st.sampled_from(LIMITS))
def test_every_iso_duration_the_pattern_allows_is_accepted_and_within_the_limit(data, limit):
    value = data.draw(st.from_regex(pattern(limit), fullmatch=True).filter(lambda text: text.strip().startswith("P")))
    assert parse(value, limit=limit) <= limit


@pytest.mark.parametrize("limit", LIMITS)
def test_the_iso_caps_together_stay_within_the_limit(limit):
    caps = iso_caps(limit)
    most = timedelta(days=caps["D"] + 1, hours=caps["H"] + 1, minutes=caps["M"] + 1, seconds=caps["S"] + 1)
    assert most <= limit


@pytest.mark.parametrize(("value", "limit", "message"), [
    ("3661d", MAX_DURATION, "'3661d' is longer than 10 years, the longest duration allowed here"),
    ("53w", MAX_PERIOD, "'53w' is longer than 366 days"),
    ("P3000D", MAX_DURATION, "'P3000D' has a part too large for an ISO 8601 duration here (at most 2928D, 8784H, "
                             "263520M, 999999S); write it as 3000d"),
    ("PT3600H", MAX_PERIOD, "write it as 150d"),
    ("1000000s", MAX_DURATION, "is written with too many digits"),
    ("soon", MAX_DURATION, "'soon' is not a duration; write a number and a unit"),
])
def test_a_refused_duration_says_why_and_what_to_write(value, limit, message):
    with pytest.raises(InvalidInput) as refused:
        parse(value, field="steps.wait.duration", limit=limit)
    [error] = refused.value.errors
    assert error["field"] == "steps.wait.duration" and message in error["message"]


def test_the_longest_of_each_unit_is_accepted():
    assert parse("3660d") == parse("87840h") == MAX_DURATION
    assert parse("P2928DT8784H") == timedelta(days=2928 + 366)
    assert parse("366d", limit=MAX_PERIOD) == MAX_PERIOD
