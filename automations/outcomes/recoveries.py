"""Money recovered: which finished runs saw their invoice paid while they were live, by whom, for how
much, and which step is credited.

A run recovered its invoice when one of its ``retry_payment`` steps succeeded (the retry paid; the
step is credited), or when the run was ended by a payment event it exits on — ``invoice.paid`` or
``payment.succeeded`` — (the customer paid; the last step that ran before the payment is credited:
the message they answered). A payment that comes after the run ended, or that the automation does
not exit on, is not the run's doing and is not counted.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from automations.models import Recovery, RecoveredBy, StepRun
from automations.run_words import EXIT
from automations.status import StepRunStatus
from billing_events.models import Event

#: The exit events that say the run's invoice was paid.
PAYMENT_EVENTS = ("invoice.paid", "payment.succeeded")
#: Steps that wait rather than act: never credited with a payment that came while they waited.
WAITING_STEP_TYPES = ("delay", "wait_for", "approval")


def recoveries_of(runs: list[dict[str, Any]]) -> list[Recovery]:
    """The recoveries of finished ``runs`` (dicts with ``pk``, ``automation_id``,
    ``version__number``, ``status_reason``, ``started_at`` and ``invoice_id``)."""
    by_pk = {run["pk"]: run for run in runs}
    found = {pk: _by_retry(by_pk[pk], row) for pk, row in _paying_retries(list(by_pk)).items()}
    exits = {run["pk"]: match["event"] for run in runs if run["pk"] not in found
             and (match := EXIT.match(run["status_reason"] or "")) and match["type"] in PAYMENT_EVENTS}
    if exits:
        events = {event.pk: event for event in Event.objects.filter(pk__in=set(exits.values()))}
        credited = _last_steps(list(exits))
        for pk, event_id in exits.items():
            event = events.get(event_id)
            if event is not None:
                found[pk] = _by_customer(by_pk[pk], event, credited.get(pk, []))
    return [recovery for recovery in found.values() if recovery is not None]


def _paying_retries(execution_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = (StepRun.objects.filter(execution_id__in=execution_ids, action="retry_payment",
                                   status=StepRunStatus.SUCCEEDED)
            .order_by("finished_at", "pk").values("execution_id", "step_key", "output", "finished_at"))
    paying: dict[int, dict[str, Any]] = {}
    for row in rows:
        if (row["output"] or {}).get("status") == "succeeded":
            paying.setdefault(row["execution_id"], row)
    return paying


def _by_retry(run: dict[str, Any], row: dict[str, Any]) -> Recovery | None:
    output = row["output"] or {}
    amount = _amount(output.get("amount"))
    if amount is None or not output.get("currency"):
        return None
    return _recovery(run, RecoveredBy.RETRY, row["step_key"], amount, output["currency"], row["finished_at"])


def _last_steps(execution_ids: list[int]) -> dict[int, list[tuple[datetime, str]]]:
    """Each run's steps that acted, with when they finished, in order."""
    steps: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for execution_id, key, finished_at in (
            StepRun.objects.filter(execution_id__in=execution_ids, finished_at__isnull=False)
            .exclude(step_type__in=WAITING_STEP_TYPES).order_by("finished_at", "pk")
            .values_list("execution_id", "step_key", "finished_at")):
        steps[execution_id].append((finished_at, key))
    return steps


def _by_customer(run: dict[str, Any], event: Event, steps: list[tuple[datetime, str]]) -> Recovery | None:
    data = event.data or {}
    payment, invoice = data.get("payment") or {}, data.get("invoice") or {}
    amount = _amount(payment.get("amount")) or _amount(invoice.get("amount_paid")) or _amount(invoice.get("total"))
    currency = payment.get("currency") or invoice.get("currency")
    if amount is None or not currency:
        return None
    before = [key for finished_at, key in steps if finished_at <= event.occurred_at] or [key for _, key in steps[:1]]
    return _recovery(run, RecoveredBy.CUSTOMER, before[-1] if before else "", amount, currency, event.occurred_at)


def _recovery(run: dict[str, Any], by: str, step_key: str, amount: Decimal, currency: str,
              paid_at: datetime) -> Recovery:
    return Recovery(automation_id=run["automation_id"], version_number=run["version__number"],
                    execution_id=run["pk"], invoice_id=run.get("invoice_id") or "", step_key=step_key, by=by,
                    amount=amount, currency=str(currency).upper()[:3], paid_at=paid_at, day=paid_at.date(),
                    seconds_to_recover=max(0, int((paid_at - run["started_at"]).total_seconds())))


def _amount(value: object) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount > 0 else None
