"""Send windows and frequency caps are checked on save, each error naming its field."""
from __future__ import annotations

import pytest
from django.core.checks import run_checks

from automations.definition.validate import validate_definition
from billing_events.errors import InvalidInput

pytestmark = pytest.mark.django_db


def errors_of(definition) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        validate_definition(definition)
    return [(error["field"], error["message"]) for error in caught.value.errors]


def mail(**config):
    return {"name": "Mail", "trigger": {"type": "manual"},
            "steps": [{"key": "ping", "type": "action", "action": "send_sms",
                       "config": {"to": "+4915100000", "message": "Hi", **config}}]}


def test_a_valid_window_and_caps_are_kept_in_the_canonical_form():
    definition = {**mail(send_window={"days": ["sat", "sun"], "from": "10:00", "to": "24:00"}),
                  "timezone": "Europe/Berlin",
                  "frequency_caps": [{"channels": ["sms"], "max": 2, "period": "1w", "on_cap": "skip"}]}
    canonical = validate_definition(definition)
    assert canonical["steps"][0]["config"]["send_window"] == {"days": ["sat", "sun"], "from": "10:00", "to": "24:00"}
    assert canonical["timezone"] == "Europe/Berlin" and canonical["frequency_caps"][0]["max"] == 2
    assert validate_definition({**mail(), "frequency_caps": []})["frequency_caps"] == [], "an exemption is kept"


@pytest.mark.parametrize(("window", "expected"), [
    ({"from": "17:00", "to": "09:00"},
     ("steps.ping.config.send_window.to", "must be later than from (17:00); a window does not run past midnight")),
    ({"from": "9am", "to": "17:00"},
     ("steps.ping.config.send_window.from", "'9am' is not a time of day (HH:MM, 24-hour)")),
    ({"days": ["mon", "funday"], "from": "09:00", "to": "17:00"},
     ("steps.ping.config.send_window.days.1", "'funday' is not one of mon, tue, wed, thu, fri, sat, sun")),
    ({"to": "17:00"}, ("steps.ping.config.send_window.from", "is required")),
    ({"from": "09:00", "to": "17:00", "hours": 8}, ("steps.ping.config.send_window", None)),
])
def test_a_bad_send_window_names_its_field(window, expected):
    [(field, message)] = errors_of(mail(send_window=window))
    assert field == expected[0]
    if expected[1]:
        assert message == expected[1]


def test_only_messages_take_a_send_window():
    definition = {"name": "Hook", "trigger": {"type": "manual"},
                  "steps": [{"key": "hook", "type": "action", "action": "send_webhook",
                             "config": {"url": "https://example.com/", "send_window": {"from": "09:00", "to": "17:00"}}}]}
    assert [field for field, _ in errors_of(definition)] == ["steps.hook.config"]


@pytest.mark.parametrize(("caps", "field", "message"), [
    ([{"max": 0, "period": "1d"}], "frequency_caps[0].max", "must be a whole number from 1 to 1000"),
    ([{"max": 1, "period": "daily"}], "frequency_caps[0].period", "is not a duration"),
    ([{"max": 1}], "frequency_caps[0].period", "is required: a duration such as 1d"),
    ([{"max": 1, "period": "0d"}], "frequency_caps[0].period", "must be longer than no time at all"),
    ([{"max": 1, "period": "53w"}], "frequency_caps[0].period", "is longer than 366 days"),
    ([{"max": 1, "period": "1d", "channels": ["fax"]}], "frequency_caps[0].channels[0]", "'fax' is not one of email"),
    ([{"max": 1, "period": "1d", "on_cap": "drop"}], "frequency_caps[0].on_cap", "'drop' is not one of delay, skip"),
    ({"max": 1}, "frequency_caps", "must be a list of caps"),
])
def test_a_bad_frequency_cap_names_its_field(caps, field, message):
    [(where, text)] = errors_of({**mail(), "frequency_caps": caps})
    assert where == field and message in text


def test_an_unknown_automation_timezone_is_refused():
    assert errors_of({**mail(), "timezone": "Mars/Olympus"}) == [
        ("timezone", "'Mars/Olympus' is not an IANA timezone such as Europe/Berlin")]


def test_a_bad_setting_is_a_system_check_error(settings):
    settings.Q_CLUSTER = {"name": "automations", "orm": "default", "timeout": 60, "retry": 90,
                          "broker_class": "automations.brokers.orm.ORM"}
    settings.AUTOMATIONS = {"FREQUENCY_CAPS": [{"max": 3, "period": "soon"}]}
    [message] = run_checks(tags=["automations"])
    assert message.id == "automations.E008" and "FREQUENCY_CAPS[0].period" in message.msg
