"""The sent-messages ledger: count a customer's messages and reserve the next one under a lock on
the customer's row, so concurrent workers cannot both pass a cap; a failed send gives its
reservation back."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction

from automations.messaging.caps import Cap, Capped, check, longest_period
from automations.models import MessageLock, SentMessage


def reserve(*, customer_id: str, channel: str, key: str, caps: Sequence[Cap], now: datetime,
            automation_id: int | None) -> Capped | None:
    """Reserve the message ``key`` for ``customer_id`` unless a cap holds it back (then the cap,
    and nothing is written). An earlier attempt's reservation under the same key is kept."""
    with transaction.atomic():
        # The lock row exists from the first message on; creating it races harmlessly (ON CONFLICT
        # DO NOTHING), and FOR UPDATE makes every later count wait for the reservation before it.
        MessageLock.objects.bulk_create([MessageLock(customer_id=customer_id)], ignore_conflicts=True)
        list(MessageLock.objects.select_for_update().filter(customer_id=customer_id))
        if SentMessage.objects.filter(key=key).exists():
            return None
        capped = check(caps, channel, sent_to(customer_id, now, caps), now) if caps else None
        if capped is None:
            SentMessage.objects.create(customer_id=customer_id, channel=channel, key=key, automation_id=automation_id,
                                       sent_at=now)
        return capped


def sent_to(customer_id: str, now: datetime, caps: Sequence[Cap]) -> list[tuple[str, datetime]]:
    """``(channel, sent_at)`` of the messages to ``customer_id`` that the longest cap's period
    still counts (reserved ones included: they are being sent; and any reserved by a worker whose
    clock reads a little later than ``now``)."""
    since = now - longest_period(caps)
    return list(SentMessage.objects.filter(customer_id=customer_id, sent_at__gt=since).values_list("channel", "sent_at"))


def confirm(key: str) -> None:
    """The message went (it counts from its reservation, moments before)."""
    SentMessage.objects.filter(key=key).update(status=SentMessage.Status.SENT)


def release(key: str) -> None:
    """The send failed: the reservation no longer counts."""
    SentMessage.objects.filter(key=key, status=SentMessage.Status.RESERVED).delete()
