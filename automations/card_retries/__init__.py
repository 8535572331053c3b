"""The rules a card charge obeys before it is sent, across every automation: a card the issuer
declined for good (or whose details must be updated) is not charged again until its details
change, and no card is charged more often than its network allows (``limits``). Worker runs
reserve each charge in the ledger (``ledger``); test mode and backtests check the same rules
against the ledger and the charges the test itself made, writing nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from automations.card_retries import ledger
from automations.card_retries.limits import DEFAULT_RETRY_LIMITS, Attempt, Limit, OverLimit, limits_for
from automations.conf import app_settings
from automations.durations import format_moment
from automations.errors import ActionError
from automations.holds import Held
from automations.models import CardCharge
from billing_events.declines import CATEGORY_LABELS, NEVER_AGAIN

RETRY_LIMIT = "retry_limit"
NEVER_AGAIN_REFUSAL = "never_again"
WAIT, FAIL = "wait", "fail"


@dataclass(frozen=True)
class Card:
    """The card a charge would go to, as the gateway describes it."""

    fingerprint: str
    network: str = ""
    updated_at: datetime | None = None

    @classmethod
    def of(cls, described: dict[str, Any] | None, payment_method: str | None) -> Card | None:
        """From ``BillingGateway.describe_payment_method``'s answer; a gateway that cannot
        describe the card has each payment method id count as a card. None with no method at all."""
        if described and described.get("fingerprint"):
            return cls(str(described["fingerprint"]), str(described.get("network") or "").lower(),
                       described.get("updated_at"))
        return cls(f"method:{payment_method}") if payment_method else None


@dataclass(frozen=True)
class RehearsedCharge:
    """A charge a test run made (nothing was charged): what later steps of the test count."""

    fingerprint: str
    amount: Decimal
    at: datetime
    decline_category: str = ""  # "" when it paid
    decline_code: str = ""
    not_before: datetime | None = None  # a decline's advice: not charged again before then

    def state(self) -> dict[str, Any]:
        """As JSON (a backtest's checkpoint)."""
        return {"fingerprint": self.fingerprint, "amount": str(self.amount), "at": self.at.isoformat(),
                "decline_category": self.decline_category, "decline_code": self.decline_code,
                "not_before": self.not_before.isoformat() if self.not_before else None}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RehearsedCharge:
        return cls(state["fingerprint"], Decimal(state["amount"]), datetime.fromisoformat(state["at"]),
                   state["decline_category"], state["decline_code"],
                   datetime.fromisoformat(state["not_before"]) if state["not_before"] else None)


def network_limits(network: str) -> list[Limit]:
    """The limits a charge on ``network`` obeys: ``AUTOMATIONS["RETRY_LIMITS"]``, else the defaults."""
    setting = app_settings.RETRY_LIMITS
    return limits_for(network, DEFAULT_RETRY_LIMITS if setting is None else setting)


def admit(card: Card, *, key: str, amount: Decimal, now: datetime, over_limit: str, **where: Any) -> Held | None:
    """For a worker's run: None when the card may be charged now (the charge reserved under
    ``key``); a hold until the limit allows it (``over_limit`` ``wait``); an ActionError when it may
    not be charged (a decline that forbids it, or a limit with ``over_limit`` ``fail``)."""
    limits = network_limits(card.network)
    found = ledger.reserve(key=key, fingerprint=card.fingerprint, updated_at=card.updated_at, amount=amount,
                           limits=limits, now=now, network=card.network, **where)
    if isinstance(found, CardCharge):
        raise _never_again(found.decline_category, found.decline_code, found.charged_at)
    return _over(found, over_limit) if found else None


def rehearse(card: Card, *, amount: Decimal, now: datetime, over_limit: str,
             rehearsed: list[RehearsedCharge]) -> Held | None:
    """For test mode and backtests: ``admit`` without writing, over the ledger as it stands and
    the charges the test made so far (``rehearsed``)."""
    # Only what came before: a backtest replays each run whole, so a run replayed earlier may
    # charge the card later than this one does.
    own = [charge for charge in rehearsed if charge.fingerprint == card.fingerprint and charge.at <= now]
    blocking = next((charge for charge in reversed(own) if charge.decline_category in NEVER_AGAIN), None)
    if blocking is not None:
        raise _never_again(blocking.decline_category, blocking.decline_code, blocking.at)
    stored = ledger.blocking_charge(card.fingerprint, card.updated_at)
    if stored is not None:
        raise _never_again(stored.decline_category, stored.decline_code, stored.charged_at)
    limits = network_limits(card.network)
    made = ledger.charges_of(card.fingerprint, now, limits) + [Attempt(charge.amount, charge.at) for charge in own]
    advised = [ledger.advised_wait(card.fingerprint, now), *(charge.not_before for charge in own)]
    over = ledger.held_back(limits, made, advised, amount, now)
    return _over(over, over_limit) if over else None


def _never_again(category: str, code: str, at: datetime) -> ActionError:
    reason = (f"this card was declined for good on {format_moment(at)} ({code}: "
              f"{CATEGORY_LABELS.get(category, category)}); it is not charged again until the customer's "
              "payment method changes")
    return ActionError(f"not charged: {reason}", retryable=False, output={
        "status": "refused", "refused": NEVER_AGAIN_REFUSAL, "reason": reason,
        "decline": {"code": code, "category": category}})


def _over(over: OverLimit, over_limit: str) -> Held:
    details = {"limit": over.limit.text, "charges_in_period": over.made}
    if over_limit == FAIL:
        reason = f"{over.reason()}; the card may be charged again from {format_moment(over.until)}"
        raise ActionError(f"not charged: {reason}", retryable=False, output={
            "status": "refused", "refused": RETRY_LIMIT, "reason": reason, "until": over.until.isoformat(), **details})
    return Held(RETRY_LIMIT, over.until, f"not charged yet: waits until {format_moment(over.until)} "
                f"({over.reason()})", details)


def settle(key: str, result: dict[str, Any]) -> None:
    ledger.settle(key, result)


def release(key: str) -> None:
    ledger.release(key)
