"""A card's limit holds across concurrent workers on PostgreSQL: workers charging one card at the
same instant, whichever automation they run, never pass the network's limit — because each counts
and reserves under the card's row lock (without it, they all pass)."""
from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection  # noqa: F401 (read by skipif)

from automations import clock
from automations.card_retries import ledger
from automations.card_retries.limits import Limit, check
from automations.models import CardCharge, CardLock
from tests.automations.engine.test_concurrency import in_parallel

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL's row locks"),
]
LIMITS = [Limit("mastercard", 2, timedelta(hours=24))]


def slow_check(*args, **kwargs):
    """The count of the card's charges takes a while: every racing worker reads before any reserves."""
    time.sleep(0.2)
    return check(*args, **kwargs)


def reserve_all(round_: int, workers: int = 4) -> list[object]:
    def reserve(index: int):
        return ledger.reserve(key=f"{round_}:{index}", fingerprint=f"fp_race_{round_}", updated_at=None,
                              amount=Decimal("10.00"), limits=LIMITS, now=clock.now(), network="mastercard")

    return in_parallel(reserve, workers=workers)


def test_workers_racing_for_one_card_stay_within_its_limit(monkeypatch):
    monkeypatch.setattr(ledger, "check", slow_check)
    for round_ in range(3):
        results = reserve_all(round_)
        assert sum(result is None for result in results) == 2, f"round {round_}: exactly the limit passes"
        assert CardCharge.objects.filter(fingerprint=f"fp_race_{round_}").count() == 2


def test_without_the_card_lock_they_would_not(monkeypatch):
    monkeypatch.setattr(ledger, "check", slow_check)
    monkeypatch.setattr(CardLock.objects, "bulk_create", lambda *args, **kwargs: [])  # no lock taken
    results = reserve_all(0)
    assert sum(result is None for result in results) > 2, "the lock is what keeps the racing workers apart"
