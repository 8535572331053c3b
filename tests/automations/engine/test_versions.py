"""Versions: executions stay pinned to the version they started on; pause and resume."""
from __future__ import annotations

import copy

import pytest
from django.core import mail

from automations import library, services
from automations.models import Execution
from automations.status import VersionState
from automations.errors import StateConflict
from billing_events.errors import InvalidInput
from tests.conftest import sample


def test_execution_waiting_on_v1_finishes_on_v1_after_v2_is_activated(dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    v1_execution = Execution.objects.get()

    v2 = copy.deepcopy(library.get_template("payment_dunning")["definition"])
    v2["steps"][-1]["config"] = {"to": "{{ customer.email }}", "subject": "v2 final", "body": "v2"}
    v2["steps"][0]["config"] = {"to": "{{ customer.email }}", "subject": "v2 gentle", "body": "v2"}
    services.update_draft(dunning, v2)
    services.activate(dunning)
    dunning.refresh_from_db()
    assert dunning.active_version.number == 2
    assert list(dunning.versions.values_list("number", "state")) == [(2, "active"), (1, "inactive")]

    engine.emit("payment.failed", sample("payment.failed", invoice={"id": "inv_9"}, payment={"id": "pay_9"}),
                id="evt_2")
    v2_execution = Execution.objects.exclude(pk=v1_execution.pk).get()
    assert v2_execution.version.number == 2

    engine.advance(days=3)
    engine.advance(days=7)
    v1_execution.refresh_from_db()
    v2_execution.refresh_from_db()
    assert v1_execution.status == v2_execution.status == "succeeded"
    assert v1_execution.version.number == 1
    subjects = [m.subject for m in mail.outbox]
    assert subjects.count("Final notice: invoice INV-2026-0042") == 1, "v1 run ends with v1's final email"
    assert "v2 gentle" in subjects and "v2 final" in subjects


def test_an_activated_version_never_changes(dunning):
    v1 = dunning.active_version
    snapshot = copy.deepcopy(v1.snapshot)
    edited = copy.deepcopy(snapshot)
    edited["name"] = "Renamed"
    draft = services.update_draft(dunning, edited)
    assert draft.number == 2 and draft.state == VersionState.DRAFT
    v1.refresh_from_db()
    assert v1.snapshot == snapshot and v1.name == "Payment dunning"


def test_activate_without_a_draft_is_refused(dunning):
    with pytest.raises(StateConflict, match="no draft version"):
        services.activate(dunning)


def test_activation_revalidates_the_draft(db):
    automation = library.instantiate("payment_dunning")
    from automations.models import EmailTemplate

    EmailTemplate.objects.filter(key="payment_failed_urgent").delete()
    with pytest.raises(InvalidInput, match="steps.urgent.config.template"):
        services.activate(automation)


def test_paused_automation_starts_nothing_and_running_ones_carry_on(dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    services.pause(dunning)
    engine.emit("payment.failed", sample("payment.failed", invoice={"id": "inv_9"}), id="evt_2")
    assert Execution.objects.count() == 1
    engine.advance(days=3)
    engine.advance(days=7)
    assert Execution.objects.get().status == "succeeded"

    services.resume(dunning)
    engine.emit("payment.failed", sample("payment.failed", invoice={"id": "inv_10"}), id="evt_3")
    assert Execution.objects.count() == 2, "resuming does not replay events received while paused"


def test_draft_only_automation_is_not_triggered(db, engine):
    library.instantiate("payment_dunning")
    engine.emit("payment.failed", sample("payment.failed"))
    assert not Execution.objects.exists()
