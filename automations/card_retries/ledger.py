"""The card-charges ledger: count a card's charges and reserve the next one under a lock on the
card's row, so concurrent workers cannot both pass a limit or both charge a card declined for
good; a charge the gateway did not make gives its reservation back."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Q

from automations.card_retries.limits import ADVICE, Attempt, Limit, OverLimit, check, longest_period
from automations.models import CardCharge, CardLock
from billing_events.declines import NEVER_AGAIN


def blocking_charge(fingerprint: str, updated_at: datetime | None) -> CardCharge | None:
    """The latest decline of the card that forbids charging it again (hard, or asking for new
    details), unless the card's details changed after it."""
    declines = CardCharge.objects.filter(fingerprint=fingerprint, outcome=CardCharge.Outcome.DECLINED,
                                         decline_category__in=NEVER_AGAIN)
    if updated_at is not None:
        declines = declines.filter(charged_at__gt=updated_at)
    return declines.order_by("-charged_at").first()


def charges_of(fingerprint: str, now: datetime, limits: Sequence[Limit]) -> list[Attempt]:
    """The card's charges that the longest limit's period still counts (reserved ones included:
    they are being made; and any made by a worker whose clock reads a little later than ``now``)."""
    since = now - longest_period(limits)
    return [Attempt(amount, at) for amount, at in CardCharge.objects.filter(
        fingerprint=fingerprint, charged_at__gt=since).values_list("amount", "charged_at")]


def reserve(*, key: str, fingerprint: str, updated_at: datetime | None, amount: Decimal, limits: Sequence[Limit],
            now: datetime, **where: Any) -> CardCharge | OverLimit | None:
    """Reserve the charge ``key`` of the card unless a decline forbids it (then that decline's
    charge) or a limit or a decline's advice holds it back (then the limit); nothing is written
    then. An earlier attempt's reservation under the same key is kept. ``where``: network,
    currency, invoice_id, automation_id, execution_id, step_key. Three statements: the card's
    lock, what it was charged, the reservation."""
    with transaction.atomic(savepoint=False):
        # Upserting the card's lock row takes its row lock in one statement (ON CONFLICT DO
        # UPDATE), from the card's first charge on: every later count waits for this reservation.
        CardLock.objects.bulk_create([CardLock(fingerprint=fingerprint, touched_at=now)], update_conflicts=True,
                                     unique_fields=["fingerprint"], update_fields=["touched_at"])
        since = now - longest_period(limits)
        counted = list(CardCharge.objects.filter(
            Q(key=key) | Q(fingerprint=fingerprint) & (
                Q(charged_at__gt=since) | Q(not_before__gt=now)
                | Q(outcome=CardCharge.Outcome.DECLINED, decline_category__in=NEVER_AGAIN))))
        if any(charge.key == key for charge in counted):
            return None
        blocking = _blocking(counted, updated_at)
        if blocking is not None:
            return blocking
        over = held_back(limits, [Attempt(charge.amount, charge.charged_at) for charge in counted
                                   if charge.charged_at > since],
                         [charge.not_before for charge in counted], amount, now)
        if over is None:
            CardCharge.objects.create(key=key, fingerprint=fingerprint, amount=amount, charged_at=now, **where)
        return over


def _blocking(charges: Sequence[CardCharge], updated_at: datetime | None) -> CardCharge | None:
    declines = [charge for charge in charges if charge.outcome == CardCharge.Outcome.DECLINED
                and charge.decline_category in NEVER_AGAIN and (updated_at is None or charge.charged_at > updated_at)]
    return max(declines, key=lambda charge: charge.charged_at, default=None)


def held_back(limits: Sequence[Limit], made: Sequence[Attempt], advised: Sequence[datetime | None], amount: Decimal,
              now: datetime) -> OverLimit | None:
    """The limit that holds a charge back, or the latest wait a decline's network advised, whichever frees it last."""
    over = check(limits, made, amount, now) if limits else None
    advice = max((moment for moment in advised if moment and moment > now), default=None)
    if advice is not None and (over is None or advice > over.until):
        return OverLimit(ADVICE, advice, 0)
    return over



def advised_wait(fingerprint: str, now: datetime) -> datetime | None:
    """Until when the card's network asked not to charge it again (a decline's advice), if later than ``now``."""
    return (CardCharge.objects.filter(fingerprint=fingerprint, not_before__gt=now)
            .order_by("-not_before").values_list("not_before", flat=True).first())


def settle(key: str, result: dict[str, Any]) -> None:
    """The gateway answered the charge ``key``: paid, or declined with what the decline says (and,
    when its network advised a wait, not charged again before it). One statement."""
    decline = result.get("decline") if isinstance(result.get("decline"), dict) else {}
    if result.get("status") == "succeeded":
        CardCharge.objects.filter(key=key).update(outcome=CardCharge.Outcome.PAID)
        return
    wait = int(decline.get("retry_after") or 0)
    CardCharge.objects.filter(key=key).update(
        outcome=CardCharge.Outcome.DECLINED, decline_category=decline.get("category") or "unknown",
        decline_code=(decline.get("code") or result.get("decline_code") or "")[:64],
        not_before=F("charged_at") + timedelta(seconds=wait) if wait else None)


def release(key: str) -> None:
    """The gateway did not charge the card (it was unavailable, the invoice was not open): the
    reservation no longer counts."""
    CardCharge.objects.filter(key=key, outcome=CardCharge.Outcome.RESERVED).delete()
