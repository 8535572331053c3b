"""What "Start a new run" from a run says before it starts one — the money it may move (again, where
the earlier run reached it) and the messages it may send, or why it may not start — and cancel as a
person: a reason is required, and an ended run is reported before the reason is looked at."""
from __future__ import annotations

import pytest

from automations import services
from automations.models import Execution
from billing_events.errors import InvalidInput
from tests.conftest import sample

pytestmark = pytest.mark.django_db


def automation_of(steps, **settings):
    automation = services.create_automation({"name": "Collect", "trigger": {"type": "event", "event": "payment.failed"},
                                             "steps": steps, **settings})
    services.activate(automation)
    return automation


CHARGE = {"key": "charge", "type": "action", "action": "retry_payment", "config": {}, "on_failure": "continue"}
SLACK = {"key": "ops", "type": "action", "action": "send_slack",
         "config": {"text": "Declined: {{ invoice.number }}", "webhook_url": "https://hooks.slack.example/ops"}}
TASK = {"key": "task", "type": "action", "action": "create_task", "config": {"title": "Call"}}


def test_a_new_run_names_the_money_it_charges_again_and_every_message_any_way_may_send(engine):
    automation = automation_of([
        CHARGE, {"key": "wait", "type": "delay", "duration": "1d"},
        {"key": "paid", "type": "branch", "if": {"all": [{"field": "invoice.status", "operator": "equals",
                                                          "value": "open"}]},
         "then": [{"key": "void", "type": "action", "action": "void_invoice", "config": {}}], "else": [SLACK]}])
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    earlier = Execution.objects.get()
    preview = services.new_run(earlier)
    # the charge ran in the earlier run: "again"; the void after the wait did not; both lanes count after a wait
    assert preview.effects == ["Charges INV-2026-0042 1,250.00 USD again", "Voids INV-2026-0042 (1,250.00 USD due)"]
    assert preview.messages == ["1 Slack message"]
    assert preview.text == (
        f"This starts a new run of Collect (version 1) from the same event (payment.failed evt_1): it may charge "
        f"INV-2026-0042 1,250.00 USD again, void INV-2026-0042 (1,250.00 USD due) and send 1 Slack message. It "
        f"starts from the first step; run #{earlier.pk} is not changed.")
    assert preview.as_dict()["allowed"] is True


def test_a_new_run_that_moves_nothing_says_so(engine):
    automation_of([TASK])
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    earlier = Execution.objects.get()
    preview = services.new_run(earlier)
    assert preview.text.endswith(": it moves no money and sends no messages. It starts from the first step; "
                                 f"run #{earlier.pk} is not changed.") and preview.effects == []


def test_a_new_run_may_not_start_while_paused_or_once_ran(engine):
    automation = automation_of([TASK], correlation_key="invoice.id", reentry="once")
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    earlier = Execution.objects.get()
    refused = services.new_run(earlier).as_dict()
    assert refused["allowed"] is False and refused["text"] == (
        "Collect runs once per invoice, and it has already run for invoice inv_2001 (this run)")
    services.pause(automation)
    earlier = Execution.objects.get()  # as the page reads it
    assert services.new_run(earlier).as_dict()["text"] == "the automation is paused: resume it to start a new run"


def test_a_new_run_may_not_start_while_a_run_for_the_same_invoice_is_live_which_is_named(engine):
    """On the live run's own page it is "this run"; on another run's page, that run by its number."""
    automation_of([{"key": "wait", "type": "delay", "duration": "1d"}, TASK], correlation_key="invoice.id",
                  reentry="skip_if_running")
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    live = Execution.objects.get()
    assert services.new_run(live).as_dict()["text"] == (
        "this run is still under way, and Collect runs one at a time per invoice: a new run can start once it "
        "has ended")
    services.cancel_execution(live, reason="paid by transfer")
    engine.emit("payment.failed", sample("payment.failed"), id="evt_2")
    second = Execution.objects.exclude(pk=live.pk).get()
    assert services.new_run(Execution.objects.get(pk=live.pk)).as_dict()["text"] == (
        f"run #{second.pk} for invoice inv_2001 is still under way, and Collect runs one at a time per invoice: "
        "a new run can start once it has ended")


def test_cancel_needs_a_reason_of_at_most_400_characters(engine, admin_user):
    automation_of([{"key": "wait", "type": "delay", "duration": "1d"}, TASK])
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    execution = Execution.objects.get()
    for reason, message in (("", "say why the run is canceled: the reason is recorded with your name"),
                            ("x" * 401, "must be at most 400 characters (it has 401)")):
        with pytest.raises(InvalidInput) as refused:
            services.cancel_by(execution, admin_user, where=services.IN_THE_ADMIN, reason=reason)
        assert refused.value.errors == [{"field": "reason", "message": message}]
    assert Execution.objects.get().status == "waiting"
    assert services.cancel_by(execution, admin_user, where=services.IN_THE_ADMIN, reason="  paid   by wire ")
    assert execution.status_reason == "canceled by admin in the admin: paid by wire"
    assert services.cancel_by(execution, admin_user, where=services.IN_THE_ADMIN, reason="") is False, (
        "an ended run says so, whatever the reason")
