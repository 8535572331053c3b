"""What an operator tests is what runs: generated automations and scenarios run live (through the
worker's path, the reference gateway's test processor charging the card the scenario puts on file
before each attempt, the clock moved to each wake-up and ticked) and in test mode (the same
outcomes scripted, and, where every attempt ends alike, predicted from the card on file) must take
the same steps, with the same statuses, at the same moments, to the same ending.

Hypothesis prints the seed and shrinks a failure to a small definition. ``--hypothesis-seed`` repeats
one; ``HYPOTHESIS_PROFILE=thorough`` runs more examples.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automations import clock, services
from automations.backtest.replay import Job
from automations.durations import parse as parse_duration
from automations.models import Execution
from automations.steps.cursor import _PROGRAMS
from billing_events.models import Customer, Event
from tests.conftest import START, sample
from tests.fixtures.smtp import smtp  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

#: The test processor's card for each outcome a scenario may choose.
CARDS = {"pays": "pm_card_ok", "soft_decline": "pm_card_declined", "hard_decline": "pm_expired_card",
         "gateway_error": "pm_processor_unavailable"}
#: What the loopback SMTP server answers for each outcome a scenario may choose for an email.
SMTP_REPLIES = {"succeeds": "250 OK", "fails_temporarily": "451 4.3.0 Temporary local problem",
                "fails": "550 5.1.1 Mailbox unavailable"}
EXAMPLES = {"ci": 300, "thorough": 2000}[os.environ.get("HYPOTHESIS_PROFILE", "ci")]


def task(key: str, title: str) -> dict[str, Any]:
    return {"key": key, "type": "action", "action": "create_task", "config": {"title": title}}


@st.composite
def dunning_definitions(draw) -> dict[str, Any]:
    """A payment retry with a generated retry policy, ``on_failure`` and fallback, steps before and
    after it, and a branch on what the retry said."""
    retry: dict[str, Any] = {"key": "retry", "type": "action", "action": "retry_payment", "config": {}}
    attempts = draw(st.integers(1, 3))
    if attempts > 1 or draw(st.booleans()):
        retry["retry"] = {"max_attempts": attempts, "initial_interval": draw(st.sampled_from(["30m", "1h", "1d"])),
                          "backoff_coefficient": draw(st.sampled_from([1, 2, 3])),
                          "max_interval": draw(st.sampled_from(["1h", "2d"]))}
    retry["on_failure"] = draw(st.sampled_from(["fail", "continue"]))
    if draw(st.booleans()):
        retry["fallback"] = [task("tell_ops", "Retry failed for {{ invoice.number }}")]
    steps: list[dict[str, Any]] = []
    if draw(st.booleans()):
        notice = {"key": "notice", "type": "action", "action": "send_email",
                  "config": {"to": "{{ customer.email }}", "subject": "Payment for {{ invoice.number }}",
                             "body": "{{ invoice.amount_due | money(invoice.currency) }} is due."},
                  "on_failure": draw(st.sampled_from(["fail", "continue"]))}
        if draw(st.booleans()):
            notice["retry"] = {"max_attempts": 2, "initial_interval": "10m", "backoff_coefficient": 1,
                               "max_interval": "10m"}
        steps.append(notice)
    if draw(st.booleans()):
        steps.append({"key": "wait", "type": "delay", "duration": draw(st.sampled_from(["1h", "3d"]))})
    steps.append(retry)
    if draw(st.booleans()):
        steps.append({"key": "worked", "type": "branch",
                      "if": {"all": [{"field": "steps.retry.output.status", "operator": "equals",
                                      "value": "succeeded"}]},
                      "then": [task("thanks", "Thank {{ customer.email }}")],
                      "else": [task("call", "Call about {{ invoice.number }}")]})
    if draw(st.booleans()):
        steps.append({"key": "paid_now", "type": "branch",
                      "if": {"all": [{"field": "invoice.status", "operator": "equals", "value": "paid"}]},
                      "then": [task("closed", "Closed {{ invoice.number }}")], "else": []})
    if draw(st.booleans()):
        steps.append({"key": "later", "type": "delay", "duration": "2d"})
    if draw(st.booleans()):
        steps.append({"key": "receipt", "type": "action", "action": "send_email",
                      "config": {"to": "{{ customer.email }}", "subject": "About {{ invoice.number }}",
                                 "body": "Due now: {{ invoice.amount_due | money(invoice.currency) }}; "
                                         "paid: {{ invoice.amount_paid | money(invoice.currency) }}."}})
    definition = {"name": "Generated", "trigger": {"type": "event", "event": "payment.failed"}, "steps": steps}
    if draw(st.booleans()):  # runs know their invoice's events
        definition["correlation_key"] = "invoice.id"
        if draw(st.booleans()):  # paying the invoice ends the run: its own payment, or the customer's
            definition["exit_on"] = ["invoice.paid"]
        if draw(st.booleans()):
            position = draw(st.integers(0, len(steps)))
            steps.insert(position, {"key": "wait_paid", "type": "wait_for", "events": ["invoice.paid"],
                                    "timeout": draw(st.sampled_from(["1h", "2d"]))})
    return definition


def nth(outcomes: list[str], attempts: int) -> str:
    """The outcome of the attempt after ``attempts`` attempts (the last one listed repeats)."""
    return outcomes[min(attempts, len(outcomes) - 1)]


def paid_event() -> dict[str, Any]:
    """``invoice.paid`` for the run's invoice, paid by the customer meanwhile (their card on file
    is left as it is)."""
    data = sample("invoice.paid", customer={"id": "cus_parity"},
                  invoice={"id": "inv_parity", "customer_id": "cus_parity", "status": "paid", "amount_due": "0.00"})
    data["customer"].pop("default_payment_method", None)
    return data


def live_run(engine, smtp, automation, outcomes: dict[str, list[str]],
             paid_after: timedelta | None) -> tuple[list[tuple], list[tuple], str, str]:
    """Before each attempt, put the scenario's card on file and tell the SMTP server what to
    answer; emit the event, then move the clock to each wake-up and tick, emitting the customer's
    ``invoice.paid`` at its moment. The step log as (step, ok, when), the messages the server
    accepted, and the ending."""
    has_notice = any(step["key"] == "notice" for step in automation.active_version.snapshot["steps"])

    def script(execution: Execution | None) -> None:
        rows = execution.step_runs.exclude(status__in=["running", "deferred"]) if execution else None
        done = {key: rows.filter(step_key=key).count() if rows is not None else 0 for key in outcomes}
        Customer.objects.filter(pk="cus_parity").update(default_payment_method=CARDS[nth(outcomes["retry"],
                                                                                      done["retry"])])
        # the server's next answer is the notice's until the run is past it (other emails are accepted)
        notice_next = has_notice and (execution is None or "notice" not in (execution.outputs or {}))
        smtp.replies[:] = [SMTP_REPLIES[nth(outcomes["notice"], done["notice"])]] if notice_next else []

    data = sample("payment.failed", customer={"id": "cus_parity", "default_payment_method": CARDS[outcomes["retry"][0]]},
                  invoice={"id": "inv_parity", "customer_id": "cus_parity", "status": "open"})
    script(None)
    engine.emit("payment.failed", data, id="evt_parity")
    execution = Execution.objects.get(automation=automation)
    pending = START + paid_after if paid_after is not None else None
    for _ in range(50):
        execution.refresh_from_db()
        if execution.status != "waiting":
            break
        script(execution)
        if pending is not None and pending <= execution.wake_at:
            clock.set_now(max(pending, clock.now()))
            engine.emit("invoice.paid", paid_event(), id="evt_parity_paid")
            pending = None
            continue
        clock.set_now(execution.wake_at)
        engine.tick()
    # when each step's outcome was known (a wait_for's row begins when it starts waiting)
    log = [(row.step_key, row.status == "succeeded", row.finished_at or row.started_at) for row in
           execution.step_runs.exclude(status__in=["running", "deferred"]).order_by("pk")]
    sent = [(message["Subject"], message.get_content().replace("\r\n", "\n").rstrip("\n")) for _, message in smtp.messages]
    return log, sent, execution.status, _failed_at(execution.error)


def _failed_at(error: str) -> str:
    """Where a run failed ("step retry"): the words after it are the server's or the scenario's."""
    return error.split(":")[0]


def simulated_run(automation, data: dict[str, Any], outcomes: dict[str, list[str]] | None,
                  events: list[dict[str, Any]]) -> tuple[list[tuple], list[tuple], str, str]:
    result = services.test_run(automation, data, outcomes=outcomes, events=events)
    log = [(entry["step"], "error" not in entry, datetime.fromisoformat(entry["at"])) for entry in result["timeline"]]
    sent = [(entry["would"]["subject"], entry["would"]["body"]) for entry in result["timeline"]
            if entry.get("action") == "send_email" and "would" in entry]
    # a live run that an exit ends is canceled with the exit as its reason, not an error
    error = "" if result["status"] == "canceled" else _failed_at(result.get("error", ""))
    return log, sent, result["status"], error


def backtest_run(automation, data: dict[str, Any]) -> tuple[list[tuple], list[tuple], str, str]:
    """The same event stored (not dispatched) and replayed by a backtest of the active version."""
    Event.objects.create(id="evt_parity", type="payment.failed", occurred_at=START, data=data)
    counts = Job(automation.active_version.snapshot, START - timedelta(days=1), START + timedelta(seconds=1),
                 automation_id=automation.pk, version=1).run()
    Event.objects.filter(pk="evt_parity").delete()  # the live run's event is emitted afresh
    [run] = counts["samples"]
    log = [(entry["step"], "error" not in entry, datetime.fromisoformat(entry["at"])) for entry in run["timeline"]]
    sent = [(entry["would"]["subject"], entry["would"]["body"]) for entry in run["timeline"]
            if entry.get("action") == "send_email" and "would" in entry]
    error = "" if run["status"] == "canceled" else _failed_at(run.get("error", ""))
    return log, sent, run["status"], error


def attempts(choices: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(choices), min_size=1, max_size=3)


@settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(definition=dunning_definitions(), outcomes=st.fixed_dictionaries(
    {"retry": attempts(sorted(CARDS)), "notice": attempts(sorted(SMTP_REPLIES))}),
    paid_after=st.sampled_from([None, "30m", "1d", "3d"]))
def test_test_mode_takes_the_steps_a_live_run_takes(engine, smtp, definition, outcomes, paid_after):
    clock.set_now(START)
    _PROGRAMS.clear()  # each example's versions are rolled back: their ids come back
    smtp.messages.clear()
    with transaction.atomic():
        automation = services.create_automation(definition)
        services.activate(automation)
        automation.refresh_from_db()
        data = sample("payment.failed", customer={"id": "cus_parity",
                                                  "default_payment_method": CARDS[outcomes["retry"][0]]},
                      invoice={"id": "inv_parity", "customer_id": "cus_parity", "status": "open"})
        present = services.current_definition(automation)
        events = [{"type": "invoice.paid", "after": paid_after, "data": paid_event()}] if paid_after else []
        scripted = simulated_run(automation, data, {key: chosen for key, chosen in outcomes.items()
                                                    if any(step["key"] == key for step in present["steps"])}, events)
        as_predicted = set(outcomes["retry"]) == {outcomes["retry"][0]} and set(outcomes["notice"]) == {"succeeds"}
        predicted = simulated_run(automation, data, None, events) if as_predicted else None
        # a backtest sees no event after the one it replays (as it documents): only where none comes
        replayed = backtest_run(automation, data) if as_predicted and not paid_after else None
        live = live_run(engine, smtp, automation, outcomes, parse_duration(paid_after) if paid_after else None)
        transaction.set_rollback(True)
    clock.set_now(START)
    assert scripted == live, f"test mode with the scenario's outcomes:\n{scripted}\nlive:\n{live}"
    if predicted is not None:
        assert predicted == live, f"test mode predicting from the card on file:\n{predicted}\nlive:\n{live}"
    if replayed is not None:
        assert replayed == live, f"a backtest of the same event:\n{replayed}\nlive:\n{live}"
