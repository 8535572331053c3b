"""manage.py emit_event."""
from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from billing_events.models import Event

pytestmark = pytest.mark.django_db


def test_emit_a_sample(capsys):
    call_command("emit_event", "invoice.paid", "--sample", "--id", "evt_cli")
    assert "Emitted invoice.paid evt_cli" in capsys.readouterr().out
    call_command("emit_event", "invoice.paid", "--sample", "--id", "evt_cli")
    assert "Already received invoice.paid evt_cli" in capsys.readouterr().out
    assert Event.objects.get().data["invoice"]["status"] == "paid"


def test_emit_given_data():
    call_command("emit_event", "customer.created", "--data", json.dumps({"customer": {"id": "cus_9", "name": "N"}}),
                 "--occurred-at", "2026-11-01T00:00:00Z")
    event = Event.objects.get()
    assert event.data["customer"]["id"] == "cus_9" and event.occurred_at.day == 1


@pytest.mark.parametrize(("args", "message"), [
    (["nope.event", "--sample"], "unknown event type 'nope.event'"),
    (["customer.created", "--data", "{bad json"], "--data is not valid JSON"),
    (["customer.created", "--data", '{"customer": {}}'], "data.customer.id: is required"),
])
def test_bad_input_is_a_clear_command_error(args, message):
    with pytest.raises(CommandError, match=message.replace(".", r"\.")):
        call_command("emit_event", *args)
    assert not Event.objects.exists()
