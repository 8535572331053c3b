"""What paying an invoice at Stripe is known to answer before it is tried (test mode's
``retry_payment``, ``StripeGateway.predict_retry_payment``).

Stripe cannot be asked whether a charge would go through without making it. What can be told is
told: an invoice that is no longer payable, a customer with nothing to charge, a card past its
expiry date, and — on a test-mode account, whose cards are Stripe's documented test cards — what
the card was made to answer. A live card that has not expired is the one thing only the charge
itself tells: the prediction is then None, and the operator chooses the outcome in the test.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

#: Invoice statuses Stripe takes a payment for (a draft is finalized first).
PAYABLE = ("draft", "open", "uncollectible")

#: Stripe's test cards that a charge declines, by their last four digits (all Visa):
#: https://docs.stripe.com/testing#declined-payments. Every other test card pays.
TEST_CARD_DECLINES: dict[str, str] = {
    "0002": "generic_decline", "0341": "generic_decline", "9995": "insufficient_funds", "9987": "lost_card",
    "9979": "stolen_card", "0069": "expired_card", "0127": "incorrect_cvc", "0119": "processing_error",
    "6975": "card_velocity_exceeded", "0019": "fraudulent",
    # Cards that always ask for 3D Secure: an invoice paid off-session cannot authenticate.
    "3184": "authentication_required", "3178": "authentication_required",
}

#: The words Stripe answers a decline with, by decline code.
DECLINE_MESSAGES: dict[str, str] = {
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "card_velocity_exceeded": "Your card was declined for making repeated attempts too frequently or "
                              "exceeding its amount limit.",
    "authentication_required": "Your card was declined. This transaction requires authentication.",
}


def decline_message(code: str) -> str:
    return DECLINE_MESSAGES.get(code, "Your card was declined.")


def known_decline(method: dict[str, Any], now: datetime) -> str | None:
    """The decline code this payment method is known to get now, without a charge: an expired
    card's, or a test card's; None when only a charge tells."""
    card = method.get("card") or {}
    year, month = card.get("exp_year"), card.get("exp_month")
    if year and month and (int(year), int(month)) < (now.year, now.month):
        return "expired_card"
    if method.get("livemode") or method.get("type") != "card" or card.get("brand") != "visa":
        return None
    return TEST_CARD_DECLINES.get(str(card.get("last4") or ""))

