"""The event's admin page says which runs the event started (links to them), which it ended, and
for every automation listening for its type that started none, why not: what the dispatcher
recorded, activated after the event, or only a draft listening."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from automations import clock, library, services
from automations.models import Execution
from tests.conftest import sample

pytestmark = pytest.mark.django_db


def runs_section(admin_client, event_id: str) -> str:
    """The page's "What it started" section as text, links kept as ``[text](url)``."""
    response = admin_client.get(f"/admin/billing_events/event/{event_id}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    section = html[html.index("What it started"):html.index("What it says")]
    section = re.sub(r'<a href="([^"]+)">([^<]+)</a>', r"[\2](\1)", section)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))


def test_the_run_it_started_is_linked_with_its_status(admin_client, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    run = Execution.objects.get()
    said = runs_section(admin_client, "evt_1")
    assert f"Started [run #{run.pk}](/admin/automations/execution/{run.pk}/change/) (version 1) · Waiting" in said


def test_why_each_listening_automation_started_nothing(admin_client, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    run = Execution.objects.get()
    engine.emit("payment.failed", sample("payment.failed"), id="evt_2")
    said = runs_section(admin_client, "evt_2")
    assert (f"No run started: A run for the same value was still under way — run #{run.pk} for invoice inv_2001 was "
            f"still under way, and it runs one at a time per invoice ([run #{run.pk}]"
            f"(/admin/automations/execution/{run.pk}/change/)). reentry: skip_if_running") in said

    engine.emit("payment.failed", sample("payment.failed", invoice={"id": "inv_zero", "amount_due": "0.00"}),
                id="evt_zero")
    assert ("No run started: The entry conditions were not met — invoice.amount_due greater than 0 (it is 0.00). "
            "conditions") in runs_section(admin_client, "evt_zero")


def test_the_runs_it_ended_through_exit_on(admin_client, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    run = Execution.objects.get()
    engine.emit("invoice.paid", sample("invoice.paid"), id="evt_paid")
    said = runs_section(admin_client, "evt_paid")
    assert f"Ended [run #{run.pk}](/admin/automations/execution/{run.pk}/change/)" in said and "exit_on" in said


def test_a_draft_only_and_an_automation_activated_after_the_event(admin_client, engine):
    engine.emit("invoice.overdue", sample("invoice.overdue"), id="evt_overdue")
    library.instantiate("write_off")  # never activated
    said = runs_section(admin_client, "evt_overdue")
    assert ("Write-off approval" in said and "No run started: Only its draft listens for this event — version 1 is a "
            "draft, and a draft starts no runs: activate it to start runs from events like this one. draft") in said

    clock.advance(timedelta(hours=1))
    later = services.create_automation({"name": "Later", "trigger": {"type": "event", "event": "invoice.overdue"},
                                        "steps": [{"key": "t", "type": "action", "action": "create_task",
                                                   "config": {"title": "t"}}]})
    services.activate(later)
    assert ("No run started: Activated after this event was handled — version 1 became active at 2026-11-20 11:00 "
            "UTC.") in runs_section(admin_client, "evt_overdue")


def test_an_event_nobody_listens_for_says_so(admin_client, engine):
    engine.emit("invoice.paid", sample("invoice.paid"), id="evt_paid")
    assert ("No automation listens for invoice.paid: none is active with it as its trigger, and no draft names it."
            in runs_section(admin_client, "evt_paid"))


def test_the_event_inbox_lists_when_each_event_was_handed_on(admin_client, engine):
    engine.emit("invoice.paid", sample("invoice.paid"), id="evt_paid")
    listing = admin_client.get("/admin/billing_events/event/").content.decode()
    assert "Handed to its listeners" in listing and "dispatched_at" not in listing
