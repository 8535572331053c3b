"""How a run reads in its step log and its ending: a payment declined while the run went on reads as
declined (continued, fallback ran, tried again), never as succeeded; the run's ending says it
completed without collecting; exits, stops, failures and cancellations read in words."""
from __future__ import annotations

import pytest

from automations import run_words, services
from automations.models import Execution
from automations.step_log import ending, log_rows
from tests.conftest import sample

pytestmark = pytest.mark.django_db

DECLINED = "Your card was declined (card_declined)"


def run_of(engine, steps, **data_overrides) -> Execution:
    automation = services.create_automation({"name": "Collect", "trigger": {"type": "event", "event": "payment.failed"},
                                             "correlation_key": "invoice.id", "exit_on": ["invoice.paid"],
                                             "steps": steps})
    services.activate(automation)
    engine.emit("payment.failed", sample("payment.failed", **data_overrides), id="evt_failed")
    return Execution.objects.get()


def shown(execution: Execution) -> list[tuple[str, str]]:
    execution.refresh_from_db()
    return [(row["run"].step_key if row["run"] else "END", row["shown"]) for row in log_rows(execution)]


CHARGE = {"key": "charge", "type": "action", "action": "retry_payment", "config": {}}
TASK = {"key": "tell_ops", "type": "action", "action": "create_task", "config": {"title": "Call"}}


def test_declined_and_continued_reads_as_declined_and_the_run_completed_without_collecting(engine):
    execution = run_of(engine, [{**CHARGE, "on_failure": "continue"}, TASK])
    assert shown(execution) == [
        ("charge", f"declined — continued: {DECLINED}"), ("tell_ops", "succeeded"),
        ("END", f"Completed all its steps, but step charge was declined: {DECLINED}, and the run went on without it")]
    assert run_words.status(execution) == "Completed, payment declined"
    assert run_words.ended(execution, short=True) == (
        "Completed all its steps, but step charge was declined (card_declined)")


def test_a_fallback_lane_after_a_decline_says_it_ran(engine):
    execution = run_of(engine, [{**CHARGE, "on_failure": "continue", "fallback": [TASK]}])
    assert shown(execution)[:2] == [("charge", f"declined, fallback ran: {DECLINED}"), ("tell_ops", "succeeded")]
    assert run_words.status(execution) == "Completed, payment declined"


def test_a_declined_attempt_tried_again_says_so_and_the_waiting_one_says_when(engine):
    from datetime import timedelta

    execution = run_of(engine, [{**CHARGE, "on_failure": "continue",
                                 "retry": {"max_attempts": 2, "initial_interval": "1h", "max_interval": "1h"}}])
    assert shown(execution) == [("charge", f"declined, retrying at 2026-11-20 11:00 UTC: {DECLINED}")]
    engine.advance(hours=1)
    assert [label for _, label in shown(execution)][:2] == [
        f"declined, tried again: {DECLINED}", f"declined — continued: {DECLINED}"]


def test_a_run_that_failed_at_its_decline_reads_as_failed_there(engine):
    execution = run_of(engine, [CHARGE])
    assert shown(execution) == [("charge", f"declined: {DECLINED}"),
                                ("END", "Failed at step charge: payment declined: card_declined")]
    assert run_words.status(execution) == "Failed", "not a run that went on past its decline"


def test_a_payment_collected_reads_succeeded_and_the_run_completed(engine):
    execution = run_of(engine, [{**CHARGE, "on_failure": "continue"}],
                       customer={"default_payment_method": "pm_card_ok"}, payment={"payment_method": "pm_card_ok"})
    assert shown(execution) == [("charge", "succeeded"), ("END", "Completed all its steps")]
    assert run_words.status(execution) == "Completed"


def test_a_branch_says_which_way_it_went(engine):
    execution = run_of(engine, [{**CHARGE, "on_failure": "continue"},
                                {"key": "worked", "type": "branch",
                                 "if": {"all": [{"field": "steps.charge.output.status", "operator": "equals",
                                                 "value": "succeeded"}]},
                                 "then": [{"key": "done", "type": "stop"}], "else": [TASK]}])
    assert ("worked", "condition not met: took Else") in shown(execution)


def test_exits_stops_and_cancellations_read_in_words(engine, admin_user):
    execution = run_of(engine, [{"key": "wait", "type": "delay", "duration": "3d"}, TASK])
    engine.emit("invoice.paid", sample("invoice.paid"), id="evt_paid")
    execution.refresh_from_db()
    assert ending(execution)["label"] == "Ended when invoice.paid arrived for inv_2001 (event evt_paid)"

    stopped = services.create_automation({"name": "Stop", "trigger": {"type": "manual"},
                                          "steps": [{"key": "recovered", "type": "stop"}]})
    services.activate(stopped)
    run = engine.run(services.run_manual, stopped, {})
    run.refresh_from_db()
    assert ending(run)["label"] == "Stopped at step recovered"

    again = services.create_automation({"name": "Wait", "trigger": {"type": "manual"},
                                        "steps": [{"key": "wait", "type": "delay", "duration": "3d"}]})
    services.activate(again)
    live = engine.run(services.run_manual, again, {})
    services.cancel_by(live, admin_user, where=services.IN_THE_ADMIN, reason="customer paid by bank transfer")
    assert ending(live)["label"] == "Canceled by admin in the admin: customer paid by bank transfer"
    assert run_words.reason(live) == "Canceled by admin in the admin: customer paid by bank transfer"
