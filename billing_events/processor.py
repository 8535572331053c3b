"""The deterministic test payment processor behind the reference gateway.

Payment methods: ``pm_card_ok`` succeeds; ``pm_card_declined``, ``pm_insufficient_funds`` and
``pm_expired_card`` decline with that code; ``pm_processor_unavailable`` fails temporarily (retry).
Any other method declines as ``invalid_payment_method``.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing_events.gateway.base import GatewayError

DECLINES = {
    "pm_card_declined": ("card_declined", "Your card was declined."),
    "pm_insufficient_funds": ("insufficient_funds", "Your card has insufficient funds."),
    "pm_expired_card": ("expired_card", "Your card has expired."),
}
SUCCEEDS = "pm_card_ok"
UNAVAILABLE = "pm_processor_unavailable"


@dataclass(frozen=True)
class Charge:
    succeeded: bool
    decline_code: str | None = None
    message: str | None = None


def charge(payment_method: str | None, amount: Decimal, currency: str) -> Charge:
    """Charge ``amount``: the outcome depends only on the payment method."""
    if payment_method == UNAVAILABLE:
        raise GatewayError("the payment processor is temporarily unavailable", code="processor_unavailable",
                           retryable=True)
    if payment_method == SUCCEEDS:
        return Charge(True)
    if not payment_method:
        return Charge(False, "no_payment_method", "The customer has no payment method on file.")
    code, message = DECLINES.get(payment_method, ("invalid_payment_method", "Unknown payment method."))
    return Charge(False, code, message)
