"""The deterministic test payment processor behind the reference gateway.

Each test payment method is a card of one network whose charges always end the same way:

============================================  ==========  ===================================================
payment method                                network     a charge
============================================  ==========  ===================================================
``pm_card_ok``                                Visa        succeeds
``pm_card_mastercard_ok``                     Mastercard  succeeds
``pm_card_declined``                          Visa        declines ``card_declined`` (soft)
``pm_insufficient_funds``                     Visa        declines ``insufficient_funds`` (soft)
``pm_card_mastercard_declined``               Mastercard  declines ``do_not_honor`` (soft)
``pm_card_mastercard_retry_later``            Mastercard  declines ``insufficient_funds``, advice 25: retry
                                                          after 24 hours (soft)
``pm_expired_card``                           Visa        declines ``expired_card`` (update credentials)
``pm_card_mastercard_new_details``            Mastercard  declines, advice 01: new account information
                                                          (update credentials)
``pm_card_lost``, ``pm_card_stolen``          Visa        declines ``lost_card`` / ``stolen_card`` (hard)
``pm_card_mastercard_do_not_retry``           Mastercard  declines ``do_not_honor``, advice 03: do not try
                                                          again (hard)
``pm_processor_unavailable``                  —           fails temporarily (a gateway error, retried)
============================================  ==========  ===================================================

Any other method declines as ``invalid_payment_method`` (update credentials); no method at all as
``no_payment_method``. A card's fingerprint is ``fp_`` and its method's id: the same card whichever
automation charges it.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing_events.declines import Decline, classify
from billing_events.gateway.base import GatewayError


@dataclass(frozen=True)
class ProcessorCard:
    network: str
    decline_code: str = ""  # "" when its charges succeed
    network_code: str = ""
    advice_code: str = ""
    message: str = ""


CARDS: dict[str, ProcessorCard] = {
    "pm_card_ok": ProcessorCard("visa"),
    "pm_card_mastercard_ok": ProcessorCard("mastercard"),
    "pm_card_declined": ProcessorCard("visa", "card_declined", "05", message="Your card was declined."),
    "pm_insufficient_funds": ProcessorCard("visa", "insufficient_funds", "51", message="Your card has insufficient funds."),
    "pm_card_mastercard_declined": ProcessorCard("mastercard", "do_not_honor", "05", message="Your card was declined."),
    "pm_card_mastercard_retry_later": ProcessorCard("mastercard", "insufficient_funds", "51", "25",
                                               "Your card has insufficient funds: try again in 24 hours."),
    "pm_expired_card": ProcessorCard("visa", "expired_card", "54", message="Your card has expired."),
    "pm_card_mastercard_new_details": ProcessorCard("mastercard", "new_account_information_available", "05", "01",
                                               "Your card's details have changed."),
    "pm_card_lost": ProcessorCard("visa", "lost_card", "41", message="Your card was reported lost."),
    "pm_card_stolen": ProcessorCard("visa", "stolen_card", "43", message="Your card was reported stolen."),
    "pm_card_mastercard_do_not_retry": ProcessorCard("mastercard", "do_not_honor", "05", "03",
                                                "Your card was declined: do not try again."),
}
SUCCEEDS = "pm_card_ok"
UNAVAILABLE = "pm_processor_unavailable"


@dataclass(frozen=True)
class Charge:
    succeeded: bool
    decline: Decline | None = None

    @property
    def decline_code(self) -> str | None:
        return self.decline.code if self.decline else None

    @property
    def message(self) -> str | None:
        return self.decline.message if self.decline else None


def describe(payment_method: str | None) -> dict[str, str] | None:
    """The card behind a test payment method (its fingerprint and network), None for none."""
    if not payment_method or payment_method == UNAVAILABLE:
        return None
    card = CARDS.get(payment_method)
    return {"id": payment_method, "fingerprint": f"fp_{payment_method}", "network": card.network if card else ""}


def charge(payment_method: str | None, amount: Decimal, currency: str) -> Charge:
    """Charge ``amount``: the outcome depends only on the payment method."""
    if payment_method == UNAVAILABLE:
        raise GatewayError("the payment processor is temporarily unavailable", code="processor_unavailable",
                           retryable=True)
    if not payment_method:
        return Charge(False, classify("no_payment_method", message="The customer has no payment method on file."))
    card = CARDS.get(payment_method)
    if card is None:
        return Charge(False, classify("invalid_payment_method", message="Unknown payment method."))
    if not card.decline_code:
        return Charge(True)
    return Charge(False, classify(card.decline_code, network=card.network, network_code=card.network_code,
                                  advice_code=card.advice_code, message=card.message))
