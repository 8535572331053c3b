"""Resume now: a waiting run's pending wait ends now and the same run goes on from where it is,
said exactly for each wait: a delay skipped (its next step runs for the first time, nothing "again"),
a failed step's next attempt (its money moves again, with the attempt number), a wait_for ended."""
from __future__ import annotations

import pytest
from django.core import mail

from automations import services
from automations.engine import transitions
from automations.errors import StateConflict
from automations.models import Execution, StepRun
from tests.conftest import sample

pytestmark = pytest.mark.django_db


def _steps(execution):
    return [(run.step_key, run.status) for run in StepRun.objects.filter(execution=execution).order_by("pk")]


def test_resume_now_ends_a_delay_and_goes_on_in_the_same_run(dunning, engine, admin_user):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    assert execution.status == "waiting" and len(mail.outbox) == 1
    wait = services.resumability(execution)
    assert wait.kind == "delay" and wait.text == (
        "the delay at step wait_3d is skipped: the run goes on now at step still_unpaid, which has not run yet "
        "(instead of at 2026-11-23 10:00 UTC)")
    assert (wait.title, wait.action) == ("Skip the wait at step wait_3d?", "Skip the wait and go on now")
    assert wait.effects == ["Charges INV-2026-0042 1,250.00 USD"], "the payment step has not run: not 'again'"

    engine.run(services.resume_now, execution, admin_user)

    execution.refresh_from_db()
    assert Execution.objects.count() == 1, "no new run"
    subjects = [message.subject for message in mail.outbox]
    assert len(subjects) == len(set(subjects)), "the first email is not sent again"
    keys = [key for key, _ in _steps(execution)]
    assert keys[:4] == ["gentle", "wait_3d", "still_unpaid", "retry"] and keys.count("gentle") == 1
    assert execution.status_reason.startswith("resumed now by admin through the API: the delay at step wait_3d is skipped")


def test_the_queued_wake_up_and_resume_now_run_the_step_once(dunning, engine, admin_user):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    token = execution.wait_token
    engine.run(services.resume_now, execution, admin_user)
    engine.advance(days=3)  # the delay's own wake-up finds its token taken
    from automations.engine.tasks import resume_execution
    engine.run(resume_execution, execution.pk, token)
    assert [key for key, _ in _steps(execution)].count("retry") == 1


def test_a_run_that_no_longer_waits_is_refused(dunning, engine, admin_user):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    services.cancel_execution(execution, "done")
    with pytest.raises(StateConflict, match="only a waiting execution can be resumed now; this one is canceled"):
        services.resume_now(execution, admin_user)


def test_a_stale_token_changes_nothing(dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    assert not transitions.wake_now(execution.pk, execution.wait_token + 1, reason="x")
    assert Execution.objects.get().wake_at == execution.wake_at


def test_a_retry_wait_makes_its_next_attempt_now(engine, admin_user):
    automation = services.create_automation({"name": "Charge", "trigger": {"type": "event", "event": "payment.failed"},
                                             "steps": [{"key": "charge", "type": "action", "action": "retry_payment",
                                                        "config": {}, "retry": {"max_attempts": 3,
                                                                                "initial_interval": "1h",
                                                                                "max_interval": "1h"}}]})
    services.activate(automation)
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    assert execution.status == "waiting" and _steps(execution) == [("charge", "failed")]
    wait = services.resumability(execution)
    assert wait.kind == "retry" and wait.text == (
        "step charge failed at its attempt 1 and would try again at 2026-11-20 11:00 UTC: its attempt 2 runs now "
        "instead")
    assert (wait.title, wait.action) == ("Retry step charge now?", "Retry step charge now")
    assert wait.effects == ["Charges INV-2026-0042 1,250.00 USD again (attempt 2 of step charge)"]
    engine.run(services.resume_now, execution, admin_user)
    assert _steps(execution) == [("charge", "failed"), ("charge", "failed")]
    assert StepRun.objects.filter(execution=execution).order_by("pk").last().attempt == 2


def test_a_wait_for_times_out_now(engine, admin_user):
    automation = services.create_automation({
        "name": "Wait", "trigger": {"type": "event", "event": "invoice.overdue"}, "correlation_key": "invoice.id",
        "steps": [{"key": "paid", "type": "wait_for", "events": ["invoice.paid"], "timeout": "3d"},
                  {"key": "task", "type": "action", "action": "create_task", "config": {"title": "t"}}]})
    services.activate(automation)
    engine.emit("invoice.overdue", sample("invoice.overdue"))
    execution = Execution.objects.get()
    wait = services.resumability(execution)
    assert wait.kind == "wait_for" and wait.effects == []
    assert wait.text.startswith("the wait at step paid for invoice.paid ends now as if it had timed out")
    assert wait.title == "Stop waiting for invoice.paid at step paid?"
    engine.run(services.resume_now, execution, admin_user, where=services.IN_THE_ADMIN)
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert execution.outputs["paid"] == {"timed_out": True}


def test_an_approval_is_refused_and_says_why(engine, admin_user):
    from automations import library

    automation = library.instantiate("write_off")
    services.activate(automation)
    engine.emit("invoice.issued", sample("invoice.issued"), id="evt_issued")
    engine.emit("invoice.overdue", sample("invoice.overdue"), id="evt_overdue")
    execution = Execution.objects.get(automation=automation)
    wait = services.resumability(execution)
    assert not wait.as_dict()["allowed"] and wait.kind == "approval"
    with pytest.raises(StateConflict, match="waits for a decision at step ask_finance: approve or reject it"):
        services.resume_now(execution, admin_user)
    assert Execution.objects.get(pk=execution.pk).status == "waiting"


def test_a_message_held_by_its_send_window_is_refused_and_says_why(engine, admin_user):
    automation = services.create_automation({
        "name": "Held", "trigger": {"type": "event", "event": "payment.failed"}, "timezone": "UTC",
        "steps": [{"key": "mail", "type": "action", "action": "send_email",
                   "config": {"to": "{{ customer.email }}", "subject": "s", "body": "b",
                              "send_window": {"days": ["mon"], "from": "09:00", "to": "10:00"}}}]})
    services.activate(automation)
    engine.emit("payment.failed", sample("payment.failed"))  # on a Friday, outside the customer's window
    execution = Execution.objects.get()
    assert execution.status == "waiting" and _steps(execution) == [("mail", "deferred")]
    wait = services.resumability(execution)
    assert not wait.as_dict()["allowed"] and wait.kind == "held_message"
    assert wait.as_dict()["text"] == (
        "the message of step mail is held by its send window (waited for the send window until 2026-11-23 09:00 "
        "America/New_York (14:00 UTC)); resuming now would only hold it again")
    with pytest.raises(StateConflict, match="resuming now would only hold it again"):
        services.resume_now(execution, admin_user)
    assert len(mail.outbox) == 0


def test_every_kind_of_wait_says_what_resume_now_does():
    from automations.engine.wait_kinds import KINDS
    from automations.run_control import _RESUMING

    assert set(_RESUMING) == set(KINDS)
    assert all(kind.waits and kind.wakes for kind in KINDS.values())
