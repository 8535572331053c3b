"""Send windows and frequency caps in real runs: durable waits, the ledger, the step log, with
email going to a real SMTP server on loopback."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from automations import clock, services
from automations.models import Execution, SentMessage
from automations.step_log import step_states
from billing_events.models import Customer
from tests.conftest import sample
from tests.fixtures.smtp import smtp  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db
UTC = timezone.utc
CUSTOMER = {"id": "cus_berlin", "name": "Kunde", "email": "kunde@example.de", "timezone": "Europe/Berlin"}


def automation(name: str, *, window=None, caps=None, then=None, retry=None):
    config = {"to": "{{ customer.email }}", "subject": f"{name} for {{{{ customer.name }}}}", "body": "Hello"}
    if window:
        config["send_window"] = window
    definition = {"name": name, "trigger": {"type": "manual"},
                  "steps": [{"key": "mail", "type": "action", "action": "send_email", "config": config},
                            *(then or [])]}
    if caps is not None:
        definition["frequency_caps"] = caps
    if retry is not None:
        definition["retry"] = retry
    created = services.create_automation(definition)
    services.activate(created)
    return created


def start(engine, created, customer=CUSTOMER) -> Execution:
    execution = engine.run(services.run_manual, created, {"customer": customer})
    execution.refresh_from_db()
    return execution


def test_outside_the_window_the_message_waits_to_nine_local_across_the_spring_change(engine, smtp):
    # Saturday 28 March 2026, 21:00 in Berlin; that night the clocks go from 02:00 to 03:00.
    clock.set_now(datetime(2026, 3, 28, 20, 0, tzinfo=UTC))
    created = automation("Reminder", window={"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                             "from": "09:00", "to": "17:00"})
    execution = start(engine, created)
    assert execution.status == "waiting" and not smtp.messages
    assert execution.wake_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC), "09:00 CEST, the summer offset"
    [deferral] = execution.step_runs.all()
    assert deferral.status == "deferred" and deferral.output["deferred"] == "send_window"
    assert deferral.output["reason"] == \
        "waited for the send window until 2026-03-29 09:00 Europe/Berlin (07:00 UTC)"
    state = step_states(execution, list(execution.step_runs.all()))["mail"]
    assert state.status == "waiting" and state.attempts == 0, "a message waiting for its window is not attempted"
    assert state.label.startswith("waited for the send window until 2026-03-29 09:00")
    assert not SentMessage.objects.exists()

    engine.advance(hours=10, minutes=59)  # 08:59 local: not yet
    execution.refresh_from_db()
    assert execution.status == "waiting" and not smtp.messages
    engine.advance(minutes=1)
    execution.refresh_from_db()
    assert execution.status == "succeeded", execution.error
    [(recipients, message)] = smtp.messages
    assert recipients == ["kunde@example.de"] and message["Subject"] == "Reminder for Kunde"
    sent = execution.step_runs.get(status="succeeded")
    assert sent.attempt == 1 and sent.started_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


def test_a_cap_of_one_a_day_delays_the_second_automation_message(engine, smtp, settings):
    settings.AUTOMATIONS = {"FREQUENCY_CAPS": [{"channels": ["email"], "max": 1, "period": "1d"}]}
    first, second = automation("Receipt"), automation("Upsell")
    assert start(engine, first).status == "succeeded"
    sent_at = clock.now()
    clock.advance(timedelta(hours=2))
    execution = start(engine, second)
    assert execution.status == "waiting" and execution.wake_at == sent_at + timedelta(days=1)
    assert [message["Subject"] for _, message in smtp.messages] == ["Receipt for Kunde"]
    [deferral] = execution.step_runs.all()
    assert deferral.status == "deferred" and deferral.output["deferred"] == "frequency_cap"
    assert deferral.output["reason"].startswith("capped: delayed until 2026-11-21 11:00 Europe/Berlin (10:00 UTC)")
    assert "1 message(s) of 1 per 1d (email) already sent to this customer" in deferral.output["reason"]

    engine.advance(hours=22)
    execution.refresh_from_db()
    assert execution.status == "succeeded", execution.error
    assert [message["Subject"] for _, message in smtp.messages] == ["Receipt for Kunde", "Upsell for Kunde"]
    assert SentMessage.objects.filter(customer_id="cus_berlin", status="sent").count() == 2


def test_configured_to_skip_the_second_message_is_skipped_and_the_flow_sees_it(engine, smtp):
    skip = [{"channels": ["email"], "max": 1, "period": "1d", "on_cap": "skip"}]
    first = automation("Receipt", caps=skip)
    second = automation("Upsell", caps=skip, then=[
        {"key": "was_skipped", "type": "branch",
         "if": {"all": [{"field": "steps.mail.output.skipped", "operator": "equals", "value": "frequency_cap"}]},
         "then": [{"key": "note", "type": "stop"}]}])
    start(engine, first)
    execution = start(engine, second)
    assert execution.status == "succeeded", execution.error
    assert [message["Subject"] for _, message in smtp.messages] == ["Receipt for Kunde"]
    mail = execution.step_runs.get(step_key="mail")
    assert mail.status == "succeeded" and mail.output["skipped"] == "frequency_cap"
    assert mail.output["reason"].startswith("capped: skipped (1 message(s) of 1 per 1d (email)")
    assert execution.outputs["was_skipped"] == {"branch": "then"}
    assert step_states(execution, list(execution.step_runs.all()))["mail"].label.startswith("capped: skipped")


def test_a_failed_send_does_not_use_up_the_cap(engine, smtp, settings):
    import django

    capped = [{"max": 1, "period": "1d"}]
    first = automation("Receipt", caps=capped, retry={"max_attempts": 1})
    second = automation("Upsell", caps=capped)
    working = (settings.MAILERS if django.VERSION >= (6, 1) else settings.EMAIL_PORT)
    if django.VERSION >= (6, 1):
        settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                        "OPTIONS": {"host": "127.0.0.1", "port": 1, "timeout": 2}}}
    else:
        settings.EMAIL_PORT = 1
    failed = start(engine, first)
    assert failed.status == "failed" and failed.step_runs.get().status == "failed"
    assert not SentMessage.objects.exists(), "the failed send gave its reservation back"
    if django.VERSION >= (6, 1):
        settings.MAILERS = working
    else:
        settings.EMAIL_PORT = working
    assert start(engine, second).status == "succeeded"
    assert [message["Subject"] for _, message in smtp.messages] == ["Upsell for Kunde"]


def test_a_cap_delay_that_ends_outside_the_window_waits_for_the_window(engine, smtp):
    caps = [{"max": 1, "period": "12h"}]
    first = automation("Receipt", caps=caps)
    second = automation("Upsell", caps=caps, window={"from": "09:00", "to": "17:00"})
    start(engine, first)  # 11:00 in Berlin: the cap frees the customer at 23:00, outside 09:00-17:00
    execution = start(engine, second)
    assert execution.wake_at == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # the next morning, 09:00 local
    assert execution.step_runs.get().output["reason"].startswith(
        "capped: delayed until 2026-11-21 09:00 Europe/Berlin (08:00 UTC)")
    engine.advance(hours=22)
    execution.refresh_from_db()
    assert execution.status == "succeeded" and len(smtp.messages) == 2


def test_a_customer_without_a_timezone_reads_the_window_in_the_automation_timezone(engine, smtp):
    created = services.create_automation({
        "name": "Tokyo", "trigger": {"type": "manual"}, "timezone": "Asia/Tokyo",
        "steps": [{"key": "mail", "type": "action", "action": "send_email",
                   "config": {"to": "a@example.jp", "subject": "s", "body": "b",
                              "send_window": {"from": "09:00", "to": "10:00"}}}]})
    services.activate(created)
    execution = start(engine, created, customer={"id": "cus_jp"})
    assert execution.wake_at == datetime(2026, 11, 21, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo


def test_a_mirrored_customer_without_a_timezone_reads_the_window_in_the_automation_timezone(engine, smtp):
    """The billing system sent no timezone: the reference model keeps none, so Berlin applies, not UTC."""
    clock.set_now(datetime(2026, 11, 20, 6, 0, tzinfo=UTC))  # Friday 07:00 in Berlin
    created = services.create_automation({
        "name": "Berlin", "trigger": {"type": "event", "event": "payment.failed"}, "timezone": "Europe/Berlin",
        "steps": [{"key": "mail", "type": "action", "action": "send_email",
                   "config": {"to": "{{ customer.email }}", "subject": "s", "body": "b",
                              "send_window": {"from": "09:00", "to": "18:00"}}}]})
    services.activate(created)
    data = sample("payment.failed")
    del data["customer"]["timezone"]
    engine.emit("payment.failed", data, id="evt_no_timezone")
    assert Customer.objects.get(pk=data["customer"]["id"]).timezone == ""
    execution = Execution.objects.get(automation=created)
    assert execution.status == "waiting" and not smtp.messages
    assert execution.wake_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC), "09:00 in Berlin, not 09:00 UTC"
    assert execution.step_runs.get().output["reason"] == \
        "waited for the send window until 2026-11-20 09:00 Europe/Berlin (08:00 UTC)"


def test_a_run_waiting_for_its_window_resumes_after_a_restart(engine, smtp):
    """The wait is the execution row (waiting, wake_at): a fresh worker pass picks it up."""
    clock.set_now(datetime(2026, 11, 20, 18, 0, tzinfo=UTC))
    execution = start(engine, automation("Reminder", window={"from": "09:00", "to": "17:00"}))
    assert execution.status == "waiting" and execution.lease_token == "", "no worker holds it"
    clock.set_now(datetime(2026, 11, 21, 8, 0, tzinfo=UTC))
    engine.tick()
    execution.refresh_from_db()
    assert execution.status == "succeeded" and len(smtp.messages) == 1
