"""``manage.py automations_backtest``: the same backtest as the API's, run here, printed."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from automations import services
from automations.models import Backtest, Execution
from billing_events import emit
from tests.conftest import START, sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def failures(dunning):
    for number in range(3):
        emit("payment.failed", sample("payment.failed", invoice={"id": f"inv_{number}"}), id=f"evt_{number}",
             occurred_at=START - timedelta(days=20 - number))
    # The same invoice again two days later: its first run is still live (reentry skip_if_running).
    emit("payment.failed", sample("payment.failed", invoice={"id": "inv_0"}), id="evt_again",
         occurred_at=START - timedelta(days=18))
    return dunning


def test_the_command_prints_what_the_automation_would_have_done(failures, capsys):
    call_command("automations_backtest", str(failures.pk), "--from", "2026-10-01", "--to", "2026-11-19")
    out = capsys.readouterr().out
    assert "Payment dunning, version 1 (active), payment.failed events from 2026-10-01T00:00:00+00:00 to " \
           "2026-11-20T00:00:00+00:00" in out
    assert "events: 4 in the period (4 triggers)" in out
    assert "billing data: current" in out and "as they are now" in out
    assert "started: 3; not started: 1 (reentry_skip_if_running 1)" in out
    assert "emails: payment_failed_final 3, payment_failed_gentle 3, payment_failed_urgent 3" in out
    assert "money, retry_payment: USD 3750.00 (3)" in out
    backtest = Backtest.objects.get()
    assert (backtest.status, backtest.events_done, backtest.events_total) == ("succeeded", 4, 4)
    assert not Execution.objects.exists() and mail.outbox == []


def test_json_prints_the_backtest_as_the_api_shows_it(failures, capsys):
    services.update_draft(failures, {**services.current_definition(failures), "name": "Dunning v2"})
    call_command("automations_backtest", str(failures.pk), "--from", "2026-10-01T00:00:00Z", "--to",
                 "2026-11-20T00:00:00+01:00", "--version-number", "1", "--json")
    shown = json.loads(capsys.readouterr().out)
    assert (shown["version"], shown["status"], shown["result"]["name"]) == (1, "succeeded", "Payment dunning")
    assert shown["period"] == {"from": "2026-10-01T00:00:00Z", "to": "2026-11-19T23:00:00Z"}


@pytest.mark.parametrize(("arguments", "message"), [
    (["--from", "soon", "--to", "2026-11-19"], "--from: 'soon' is not an ISO 8601 date"),
    (["--from", "2026-11-19", "--to", "2026-11-01"], "--to: must not be before from"),
    (["--from", "2026-11-01", "--to", "2026-11-19", "--version-number", "7"], "--version-number: automation"),
])
def test_bad_arguments_are_errors_naming_the_option(failures, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("automations_backtest", str(failures.pk), *arguments)
    assert not Backtest.objects.exists()


def test_an_unknown_automation_is_an_error(db):
    with pytest.raises(CommandError, match="no automation 404"):
        call_command("automations_backtest", "404", "--from", "2026-11-01", "--to", "2026-11-02")
