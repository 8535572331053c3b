"""Test mode shows send-window waits and frequency caps on the timeline, in virtual time."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.core import mail as outbox

from automations import clock
from automations.engine.simulation import simulate
from automations.models import SentMessage
from billing_events import emit
from tests.conftest import sample

pytestmark = pytest.mark.django_db
UTC = timezone.utc
DATA = {"customer": {"id": "cus_9", "email": "a@example.de", "timezone": "Europe/Berlin"}}


def email(key: str, **config):
    return {"key": key, "type": "action", "action": "send_email",
            "config": {"to": "{{ customer.email }}", "subject": key, "body": "b", **config}}


def test_the_timeline_says_until_when_a_message_waited_for_its_window():
    clock.set_now(datetime(2026, 3, 28, 20, 0, tzinfo=UTC))  # Saturday 21:00 in Berlin
    definition = {"name": "t", "trigger": {"type": "manual"},
                  "steps": [email("hello", send_window={"from": "09:00", "to": "17:00"})]}
    result = simulate(definition, DATA, billing_data=False)
    waited, sent = result["timeline"]
    assert waited["deferred"] == "send_window" and waited["waits"] == "11h"
    assert waited["reason"] == "waited for the send window until 2026-03-29 09:00 Europe/Berlin (07:00 UTC)"
    assert sent["would"]["subject"] == "hello" and sent["at"] == "2026-03-29T07:00:00+00:00"
    assert result["status"] == "succeeded" and not outbox.outbox


def test_test_mode_reads_the_window_in_the_automation_timezone_for_a_customer_without_one():
    """The customer comes from the reference billing data, mirrored from an event without a timezone."""
    data = sample("payment.failed")
    del data["customer"]["timezone"]
    emit("payment.failed", data, id="evt_no_timezone")
    clock.set_now(datetime(2026, 11, 20, 6, 0, tzinfo=UTC))  # Friday 07:00 in Berlin
    definition = {"name": "t", "trigger": {"type": "manual"}, "timezone": "Europe/Berlin",
                  "steps": [email("hello", send_window={"from": "09:00", "to": "18:00"})]}
    result = simulate(definition, {"customer": {"id": data["customer"]["id"]}})
    waited, sent = result["timeline"]
    assert waited["reason"] == "waited for the send window until 2026-11-20 09:00 Europe/Berlin (08:00 UTC)"
    assert sent["at"] == "2026-11-20T08:00:00+00:00"


def test_the_timeline_says_capped_delayed_and_capped_skipped():
    caps = [{"channels": ["email"], "max": 1, "period": "1d"}]
    definition = {"name": "t", "trigger": {"type": "manual"}, "frequency_caps": caps,
                  "steps": [email("first"), email("second")]}
    timeline = simulate(definition, DATA, billing_data=False)["timeline"]
    assert [entry.get("deferred") or "sent" for entry in timeline] == ["sent", "frequency_cap", "sent"]
    assert timeline[1]["reason"].startswith("capped: delayed until 2026-11-21 11:00 Europe/Berlin (10:00 UTC)")
    assert timeline[2]["day"] == 1

    skipping = {**definition, "frequency_caps": [{**caps[0], "on_cap": "skip"}]}
    result = simulate(skipping, DATA, billing_data=False)
    assert result["timeline"][1]["skipped"] == "frequency_cap"
    assert result["timeline"][1]["reason"].startswith("capped: skipped")
    assert result["status"] == "succeeded" and not SentMessage.objects.exists()


def test_messages_really_sent_earlier_count_in_test_mode():
    SentMessage.objects.create(customer_id="cus_9", channel="email", key="7:mail:0", status="sent",
                               sent_at=clock.now())
    definition = {"name": "t", "trigger": {"type": "manual"},
                  "frequency_caps": [{"max": 1, "period": "1d", "on_cap": "skip"}], "steps": [email("again")]}
    assert simulate(definition, DATA, billing_data=False)["timeline"][0]["skipped"] == "frequency_cap"
