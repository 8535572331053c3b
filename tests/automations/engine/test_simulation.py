"""Test mode: a timeline in virtual time, and no side effects at all."""
from __future__ import annotations

import copy

import pytest
from django.core import mail

from automations.errors import StateConflict
from automations import clock, library, services
from automations.models import EmailTemplate, Execution, StepRun, Task
from billing_events.catalogue import get_event_type
from billing_events.errors import InvalidInput
from billing_events.models import Customer, Event, Invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft():
    return library.instantiate("payment_dunning")


def test_dunning_timeline_on_the_sample_payload(draft):
    before = clock.now()
    result = services.test_run(draft)
    assert result["status"] == "succeeded" and result["entered"] and result["version"] == 1
    assert [(e["step"], e["day"]) for e in result["timeline"]] == [
        ("gentle", 0), ("wait_3d", 0), ("still_unpaid", 3), ("retry", 3), ("retry_worked", 3), ("card_unusable", 3),
        ("urgent", 3), ("follow_up", 3), ("wait_7d", 3), ("paid_meanwhile", 10), ("final", 10)]
    gentle = result["timeline"][0]["would"]
    assert gentle["to"] == ["billing@acme.example"]
    assert gentle["subject"] == "We couldn't process your payment for INV-2026-0042"
    assert "$1,250.00" in gentle["body"]
    branch = result["timeline"][2]
    assert branch["branch"] == "then" and "invoice.status equals 'open' (actual 'open') -> yes" in branch["reason"]
    retry = result["timeline"][3]
    # The sample invoice is not stored: the prediction reads it and the customer's card from the
    # run's data, as a live run of that event would (its entities are stored when it arrives).
    assert retry["error"] == "payment declined: card_declined" and retry["then"] == "the run carries on"
    assert retry["output"]["decline_code"] == "card_declined" and retry["output"]["amount"] == "1250.00"
    assert retry["output"]["would_call_gateway"] == {"operation": "retry_payment", "invoice_id": "inv_2001",
                                                     "payment_method": "default"}
    task = result["timeline"][7]["would"]["would_create_task"]
    assert task["title"] == "Call Acme Corp about INV-2026-0042" and task["due_at"].startswith("2026-11-25")
    assert result["duration"] == "10d"
    assert clock.now() == before, "virtual time does not leak out"


def test_test_run_has_no_side_effects(draft):
    counts = [model.objects.count() for model in (Event, Invoice, Customer, Task, EmailTemplate)]
    services.test_run(draft)
    assert not mail.outbox
    assert not Execution.objects.exists() and not StepRun.objects.exists()
    assert [model.objects.count() for model in (Event, Invoice, Customer, Task, EmailTemplate)] == counts


def test_supplied_data_takes_the_else_branch(draft):
    data = get_event_type("payment.failed").sample_data()
    data["invoice"]["status"] = "paid"
    result = services.test_run(draft, data)
    assert [e["step"] for e in result["timeline"]] == ["gentle", "wait_3d", "still_unpaid", "paid"]
    assert result["timeline"][2]["branch"] == "else"
    assert result["status"] == "succeeded" and result["duration"] == "3d"


def test_entry_conditions_that_do_not_hold(draft):
    data = get_event_type("payment.failed").sample_data()
    data["invoice"]["amount_due"] = "0.00"
    result = services.test_run(draft, data)
    assert result["status"] == "not_entered" and not result["entered"] and result["timeline"] == []
    assert "invoice.amount_due greater_than 0 (actual '0.00') -> no" in result["conditions"]


def test_template_errors_are_reported_per_step(draft):
    definition = copy.deepcopy(library.get_template("payment_dunning")["definition"])
    services.update_draft(draft, definition)
    # the stored email template is edited after the draft was saved (in the admin, say)
    EmailTemplate.objects.filter(key="payment_failed_urgent").update(subject="{{ invoice.nope }}")
    result = services.test_run(draft)
    assert result["status"] == "failed"
    urgent = result["timeline"][-1]
    assert urgent["step"] == "urgent"
    assert urgent["error"] == "template 'payment_failed_urgent': invoice.nope is not set (invoice has no field nope)"
    assert result["error"].startswith("step urgent:")
    with pytest.raises(InvalidInput, match="email template payment_failed_urgent.subject: invoice.nope: invoice has "
                                           "no field nope"):
        services.activate(draft)


def test_a_named_version_and_unknown_versions(draft):
    services.activate(draft)
    assert services.test_run(draft, version=1)["version"] == 1
    with pytest.raises(StateConflict, match="has no version 7"):
        services.test_run(draft, version=7)


def test_data_must_be_an_object(draft):
    with pytest.raises(InvalidInput, match="data: must be a JSON object"):
        services.test_run(draft, ["x"])


def test_loops_fallbacks_and_stops_in_test_mode():
    automation = services.create_automation({"name": "Lines", "trigger": {"type": "event", "event": "invoice.issued"},
        "steps": [
            {"key": "lines", "type": "loop", "over": "invoice.line_items", "as": "line", "steps": [
                {"key": "big", "type": "branch",
                 "if": {"all": [{"field": "line.amount", "operator": "greater_than", "value": 500}]},
                 "then": [{"key": "note", "type": "action", "action": "create_task",
                           "config": {"title": "{{ line.description }} {{ line.nope }}"}, "on_failure": "continue",
                           "fallback": [{"key": "ops", "type": "action", "action": "create_task",
                                         "config": {"title": "fallback for {{ line.description }}"}}]}],
                 "else": [{"key": "halt", "type": "stop", "status": "canceled"}]}]},
            {"key": "never", "type": "delay", "duration": "1d"}]})
    result = services.test_run(automation)
    assert [(e["step"], e.get("loop_index")) for e in result["timeline"]] == [
        ("lines", None), ("big", "0"), ("note", "0"), ("ops", "0"), ("big", "1"), ("halt", "1")]
    assert "nope" in result["timeline"][2]["error"]
    assert result["timeline"][3]["would"]["would_create_task"]["title"] == "fallback for Pro plan (monthly)"
    assert result["status"] == "canceled"
    assert not Task.objects.exists()


def test_a_retry_on_a_known_invoice_is_predicted_without_charging(draft):
    from billing_events import emit
    from billing_events.models import Payment

    emit("invoice.issued", get_event_type("invoice.issued").sample_data())  # the invoice is now known
    data = get_event_type("payment.failed").sample_data()
    data["customer"]["default_payment_method"] = "pm_card_ok"
    Customer.objects.filter(pk="cus_1001").update(default_payment_method="pm_card_ok")
    result = services.test_run(draft, data)
    assert result["timeline"][3]["would"]["status"] == "succeeded"
    assert [e["step"] for e in result["timeline"]][-1] == "recovered"
    assert not Payment.objects.exists() and Invoice.objects.get(pk="inv_2001").status == "open"


def test_test_mode_sends_no_http_request_and_moves_no_money(http_server, settings):
    from billing_events import emit
    from billing_events.models import Payment

    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "SLACK_WEBHOOK_URL": f"{http_server.url}/slack",
                            "SMS_PROVIDER": "automations.providers.sms.HTTPSMSProvider",
                            "SMS_OPTIONS": {"account_sid": "AC1", "auth_token": "t", "from_number": "+1555",
                                            "base_url": http_server.url}}
    emit("invoice.issued", get_event_type("invoice.issued").sample_data())
    Customer.objects.filter(pk="cus_1001").update(default_payment_method="pm_card_ok", credit_balance=50)
    automation = services.create_automation({"name": "Everything", "trigger": {"type": "event", "event": "payment.failed"},
        "steps": [
            {"key": "hook", "type": "action", "action": "send_webhook",
             "config": {"url": f"{http_server.url}/hook", "body": {"invoice": "{{ invoice.number }}"},
                        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
            {"key": "slack", "type": "action", "action": "send_slack", "config": {"text": "{{ invoice.number }}"}},
            {"key": "sms", "type": "action", "action": "send_sms", "config": {"to": "+1555000", "message": "hi"}},
            {"key": "credits", "type": "action", "action": "apply_credits", "config": {}},
            {"key": "retry", "type": "action", "action": "retry_payment", "config": {}},
            {"key": "void", "type": "action", "action": "void_invoice", "config": {"reason": "test"}}]})
    before = (Invoice.objects.values().get(pk="inv_2001"), Customer.objects.get(pk="cus_1001").credit_balance)
    result = services.test_run(automation)
    assert result["status"] == "succeeded", result
    assert not http_server.requests
    assert (Invoice.objects.values().get(pk="inv_2001"), Customer.objects.get(pk="cus_1001").credit_balance) == before
    assert not Payment.objects.filter(invoice_id="inv_2001").exclude(pk="pay_4001").exists()
    would = {entry["step"]: entry["would"] for entry in result["timeline"]}
    assert would["hook"]["would_call_webhook"]["url"].endswith("/hook")
    assert would["hook"]["would_call_webhook"]["headers"]["webhook-signature"] == "********"
    assert would["retry"]["status"] == "succeeded" and would["void"]["would_call_gateway"]["operation"] == "void_invoice"


def test_a_variable_that_renders_empty_is_a_warning_on_its_step():
    automation = services.create_automation({"name": "Hello", "trigger": {"type": "event", "event": "customer.created"},
        "steps": [{"key": "hello", "type": "action", "action": "send_email",
                   "config": {"to": "{{ customer.email }}", "subject": "Welcome aboard, {{ customer.name }}!",
                              "body": "Hi {{ customer.name or 'there' }}, {{ customer.timezone | upper }}"}},
                  {"key": "note", "type": "action", "action": "create_task",
                   "config": {"title": "Hello {{ customer.id }}"}}]})
    data = get_event_type("customer.created").sample_data()
    data["customer"].update(name=None, timezone="")
    hello, note = services.test_run(automation, data)["timeline"]
    assert hello["warnings"] == ["customer.timezone rendered empty in config.body",
                                 "customer.name rendered empty in config.subject"]
    assert hello["would"]["subject"] == "Welcome aboard, !" and hello["would"]["body"] == "Hi there, "
    assert "warnings" not in note


def test_warnings_name_the_email_template_they_come_from(draft):
    data = get_event_type("payment.failed").sample_data()
    data["invoice"]["payment_url"] = ""
    gentle = services.test_run(draft, data)["timeline"][0]
    assert gentle["warnings"] == [
        "invoice.payment_url rendered empty in email template payment_failed_gentle.body_text",
        "invoice.payment_url rendered empty in email template payment_failed_gentle.body_html"]


def _retry_then_branch(**retry: object) -> dict:
    return {"name": "Retry", "trigger": {"type": "event", "event": "payment.failed"},
            "steps": [{"key": "retry", "type": "action", "action": "retry_payment", "config": {}, **retry},
                      {"key": "worked", "type": "branch",
                       "if": {"all": [{"field": "steps.retry.output.status", "operator": "equals",
                                       "value": "succeeded"}]},
                       "then": [{"key": "thanks", "type": "stop"}], "else": [{"key": "sorry", "type": "stop"}]}]}


def _card(method: str) -> dict:
    return get_event_type("payment.failed").sample_data() | {
        "customer": {**get_event_type("payment.failed").sample_data()["customer"], "default_payment_method": method}}


def test_a_declined_retry_fails_the_test_run_where_a_live_run_fails():
    result = services.test_run(None, _card("pm_card_declined"), definition=_retry_then_branch())
    assert [entry["step"] for entry in result["timeline"]] == ["retry"]
    assert result["status"] == "failed" and result["error"] == "step retry: payment declined: card_declined"
    assert result["timeline"][0]["then"] == "the run fails"


def test_a_declined_retry_is_retried_under_its_policy_then_carries_on():
    definition = _retry_then_branch(retry={"max_attempts": 3, "initial_interval": "1d", "backoff_coefficient": 2,
                                           "max_interval": "7d"}, on_failure="continue")
    result = services.test_run(None, _card("pm_insufficient_funds"), definition=definition)
    assert [(entry["step"], entry["offset"], entry.get("then")) for entry in result["timeline"]] == [
        ("retry", "0s", "retried in 1d"), ("retry", "1d", "retried in 2d"), ("retry", "3d", "the run carries on"),
        ("worked", "3d", None), ("sorry", "3d", None)]
    assert result["timeline"][2]["attempt"] == 3 and result["status"] == "succeeded"


def test_a_card_that_pays_takes_the_then_lane_as_a_live_run_does():
    result = services.test_run(None, _card("pm_card_ok"), definition=_retry_then_branch())
    assert [entry["step"] for entry in result["timeline"]] == ["retry", "worked", "thanks"]
    assert result["timeline"][0]["would"]["status"] == "succeeded"


def test_a_scenario_chooses_each_attempt_and_the_last_choice_repeats():
    definition = _retry_then_branch(retry={"max_attempts": 4, "initial_interval": "1h", "backoff_coefficient": 1,
                                           "max_interval": "1h"})
    result = services.test_run(None, _card("pm_card_ok"), definition=definition,
                               outcomes={"retry": ["gateway_error", "soft_decline", "pays"]})
    assert [(entry["step"], entry.get("scenario"), "error" in entry) for entry in result["timeline"]] == [
        ("retry", "gateway_error", True), ("retry", "soft_decline", True), ("retry", "pays", False),
        ("worked", None, False), ("thanks", None, False)]
    declined = services.test_run(None, _card("pm_card_ok"), definition=definition, outcomes={"retry": ["soft_decline"]})
    assert [entry.get("attempt", 1) for entry in declined["timeline"]] == [1, 2, 3, 4]
    assert declined["error"] == "step retry: payment declined: card_declined"
    # a card declined for good is not charged again, whatever the retry policy allows
    lost = services.test_run(None, _card("pm_card_ok"), definition=definition, outcomes={"retry": ["hard_decline"]})
    assert [entry.get("attempt", 1) for entry in lost["timeline"]] == [1]
    assert lost["error"] == "step retry: payment declined: lost_card"


def test_a_scenario_names_what_the_automation_does_not_have():
    from automations.errors import StateConflict

    with pytest.raises(StateConflict) as unknown:
        services.test_run(None, _card("pm_card_ok"), definition=_retry_then_branch(), outcomes={"retri": ["pays"]})
    assert unknown.value.errors[0]["field"] == "outcomes.retri"
    with pytest.raises(StateConflict) as wrong:
        services.test_run(None, _card("pm_card_ok"), definition=_retry_then_branch(), outcomes={"retry": ["sent"]})
    assert wrong.value.errors[0]["field"] == "outcomes.retry[0]" and "pays, soft_decline" in str(wrong.value)


@pytest.mark.parametrize("config", [
    {"to": "{{ customer.email }}", "subject": "Hi {{ customer.name }}", "body": "b"},  # rendered by the action
    {"title": "Call {{ customer.name }}"},  # rendered from the config before the action
])
def test_test_mode_and_a_live_run_fail_the_same_way_on_a_value_the_data_does_not_have(engine, config):
    action = "send_email" if "to" in config else "create_task"
    automation = services.create_automation({"name": "Hello", "trigger": {"type": "manual"},
                                             "steps": [{"key": "hello", "type": "action", "action": action,
                                                        "config": config}]})
    services.activate(automation)
    # a customer without a name, which the billing system does not have either
    data = {"customer": {"id": "cus_new", "email": "new@example.com"}}
    tested = services.test_run(automation, data)
    live = engine.run(services.run_manual, automation, data)
    live.refresh_from_db()
    assert live.status == tested["status"] == "failed"
    assert live.error == tested["error"]
    assert tested["error"].endswith("customer.name is not set (customer has no field name)")
    assert live.step_runs.get().error == tested["timeline"][-1]["error"]


def test_a_message_held_back_too_often_fails_its_step_as_a_failed_attempt(monkeypatch):
    monkeypatch.setattr("automations.engine.simulation.MAX_HOLDS", 0)
    definition = {"name": "Held", "trigger": {"type": "event", "event": "payment.failed"}, "timezone": "UTC",
                  "steps": [{"key": "mail", "type": "action", "action": "send_email",
                             "config": {"to": "{{ customer.email }}", "subject": "s", "body": "b",
                                        "send_window": {"days": ["mon"], "from": "09:00", "to": "10:00"}}}]}
    result = services.test_run(None, _card("pm_card_ok"), definition=definition)
    assert result["status"] == "failed" and "held back by its send window" in result["error"]
    assert result["timeline"][-1]["then"] == "the run fails"


def _email(key: str, **config: object) -> dict:
    return {"key": key, "type": "action", "action": "send_email",
            "config": {"to": "{{ customer.email }}", "subject": key, "body": "b", **config}}


def _exits_on_paid(*steps: dict) -> dict:
    return {"name": "Exits", "trigger": {"type": "event", "event": "payment.failed"}, "correlation_key": "invoice.id",
            "exit_on": ["invoice.paid"], "steps": list(steps)}


#: Closed at the test clock's start (Friday 10:00 UTC is 05:00 in the sample customer's New York).
NINE_TO_FIVE = {"from": "09:00", "to": "17:00"}


def test_a_message_waiting_for_its_window_ends_with_the_run_when_its_own_payment_paid_the_invoice():
    """Live, the message's wait hands the run back and the payment's invoice.paid ends it there."""
    result = services.test_run(None, _card("pm_card_ok"), definition=_exits_on_paid(
        {"key": "retry", "type": "action", "action": "retry_payment", "config": {}},
        _email("receipt", send_window=NINE_TO_FIVE)))
    assert [(entry["step"], entry.get("deferred")) for entry in result["timeline"]] == [
        ("retry", None), ("receipt", "send_window")]
    assert result["status"] == "canceled" and result["error"] == "exit_on: invoice.paid (emitted by step retry)"


def test_an_exit_event_arriving_while_a_message_waits_for_its_window_ends_the_run_at_its_moment():
    result = services.test_run(None, _card("pm_card_declined"), definition=_exits_on_paid(
        _email("reminder", send_window=NINE_TO_FIVE)), events=[{"type": "invoice.paid", "after": "1h"}])
    assert [entry.get("deferred") for entry in result["timeline"]] == ["send_window"]
    assert result["status"] == "canceled" and result["finished_at"] == "2026-11-20T11:00:00+00:00"


def test_an_approval_after_the_runs_own_payment_ends_the_run_even_when_decided_at_once():
    """Live, reaching an approval is a wait whatever the approvers then do: the exit comes first."""
    result = services.test_run(None, _card("pm_card_ok"), definition=_exits_on_paid(
        {"key": "retry", "type": "action", "action": "retry_payment", "config": {}},
        {"key": "ask", "type": "approval", "ask": "Refund {{ invoice.number }}?"}))
    assert [entry["step"] for entry in result["timeline"]] == ["retry"]
    assert result["status"] == "canceled"


def test_a_message_that_failed_to_send_does_not_count_toward_a_cap():
    """Live, a failed send gives its reservation back: the next message fits under the cap."""
    definition = {"name": "Capped", "trigger": {"type": "event", "event": "payment.failed"},
                  "frequency_caps": [{"channels": ["email"], "max": 1, "period": "1d"}],
                  "steps": [{**_email("first"), "on_failure": "continue"}, _email("second")]}
    result = services.test_run(None, _card("pm_card_ok"), definition=definition, outcomes={"first": ["fails"]})
    assert [(entry["step"], "error" in entry, entry["day"]) for entry in result["timeline"]] == [
        ("first", True, 0), ("second", False, 0)]


def test_an_approval_decided_later_goes_on_then_and_one_its_timeout_comes_before_times_out():
    ask = {"key": "ask", "type": "approval", "ask": "Write off {{ invoice.number }}?", "timeout": "2d",
           "on_timeout": "rejected"}
    definition = {"name": "Ask", "trigger": {"type": "event", "event": "payment.failed"}, "steps": [ask]}
    later = services.test_run(None, _card("pm_card_ok"), definition=definition,
                              decisions={"ask": {"decision": "approved", "after": "1d"}})
    assert later["timeline"][0]["at"] == "2026-11-21T10:00:00+00:00"
    assert later["timeline"][0]["output"] == {"decision": "approved", "by": "test", "comment": ""}
    late = services.test_run(None, _card("pm_card_ok"), definition=definition,
                             decisions={"ask": {"decision": "approved", "after": "3d"}})
    assert late["timeline"][0]["at"] == "2026-11-22T10:00:00+00:00"
    assert late["timeline"][0]["output"]["timed_out"] and late["timeline"][0]["decision"] == "rejected"
    with pytest.raises(InvalidInput) as wrong:
        services.test_run(None, _card("pm_card_ok"), definition=definition,
                          decisions={"ask": {"decision": "approved", "after": "soon"}})
    assert wrong.value.errors[0]["field"] == "decisions.ask.after"


def test_a_scenario_may_say_the_server_asked_to_be_tried_again_later():
    """As a webhook answered 429 with Retry-After: the retry waits the longer of the two."""
    hook = {"key": "hook", "type": "action", "action": "send_webhook", "config": {"url": "https://crm.example/hook"},
            "retry": {"max_attempts": 2, "initial_interval": "10m", "backoff_coefficient": 1, "max_interval": "1d"}}
    definition = {"name": "Hook", "trigger": {"type": "event", "event": "payment.failed"}, "steps": [hook]}
    result = services.test_run(None, _card("pm_card_ok"), definition=definition, outcomes={
        "hook": [{"outcome": "fails_temporarily", "retry_after": "2h"}, "succeeds"]})
    assert [(entry.get("then"), entry["offset"]) for entry in result["timeline"]] == [("retried in 2h", "0s"),
                                                                                     (None, "2h")]
    with pytest.raises(InvalidInput) as wrong:
        services.test_run(None, _card("pm_card_ok"), definition=definition,
                          outcomes={"hook": [{"outcome": "fails_temporarily", "retry_after": 7}]})
    assert wrong.value.errors[0]["field"] == "outcomes.hook[0].retry_after"
