"""What a card decline says: whether the issuer will ever approve a retry.

The card networks sort declines by what a merchant may do next, and fine merchants who retry what
the issuer will never approve. A decline here is one of four categories:

- ``hard``: never retry this payment method (lost or stolen card, closed account, pick up card;
  Visa's category 1, Mastercard's merchant advice codes 03 and 21);
- ``update_credentials``: retry only once the customer's payment method changed (an expired card,
  no payment method on file, Mastercard's advice code 01);
- ``soft``: the issuer may approve later (insufficient funds, do not honour, try again later);
  Mastercard's advice codes 24–30 say after how long;
- ``unknown``: the processor's code is not one we know: retried as a soft decline, and counted.

``classify()`` reads a decline from the processor's code, the network's own response code and any
merchant advice code, the most specific first: an advice code decides, then the network's code,
then the processor's. Gateways map their processor's fields onto it (Stripe: ``decline_code``,
``network_decline_code``, ``network_advice_code``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

HARD, SOFT, UPDATE_CREDENTIALS, UNKNOWN = "hard", "soft", "update_credentials", "unknown"
CATEGORIES = (HARD, SOFT, UPDATE_CREDENTIALS, UNKNOWN)
#: Categories after which the same payment method is never charged again (until it changes).
NEVER_AGAIN = (HARD, UPDATE_CREDENTIALS)

CATEGORY_LABELS = {
    HARD: "the issuer will never approve this card",
    UPDATE_CREDENTIALS: "the card's details must be updated first",
    SOFT: "the issuer may approve a later retry",
    UNKNOWN: "a decline the processor did not explain",
}

HOUR, DAY = 3600, 86400

#: Mastercard's merchant advice codes: (category, seconds to wait before a retry).
MASTERCARD_ADVICE: dict[str, tuple[str, int | None]] = {
    "01": (UPDATE_CREDENTIALS, None),  # new account information available
    "02": (SOFT, 3 * DAY),  # cannot approve at this time, try again later
    "03": (HARD, None),  # do not try again
    "04": (UPDATE_CREDENTIALS, None),  # token requirements not fulfilled for this token type
    "21": (HARD, None),  # payment cancellation: the cardholder stopped the recurring payment
    "24": (SOFT, HOUR),  # retry after 1 hour
    "25": (SOFT, DAY),  # retry after 24 hours
    "26": (SOFT, 2 * DAY),
    "27": (SOFT, 4 * DAY),
    "28": (SOFT, 6 * DAY),
    "29": (SOFT, 8 * DAY),
    "30": (SOFT, 10 * DAY),
    "40": (HARD, None),  # consumer non-reloadable prepaid card
    "41": (HARD, None),  # consumer single-use virtual card number
    "43": (HARD, None),  # consumer multi-use virtual card number
}

#: Visa's response codes in category 1, "issuer will never approve".
VISA_NEVER = frozenset({"04", "07", "12", "14", "15", "41", "43", "46", "57", "R0", "R1", "R3"})
#: Visa's category 3, "data quality": the credentials must be corrected first.
VISA_DATA_QUALITY = frozenset({"54", "55", "6P", "70", "82", "N7"})

#: Processors' decline codes (Stripe's names, which most processors share) by category.
PROCESSOR_CODES: dict[str, str] = {
    **dict.fromkeys((
        "lost_card", "stolen_card", "pickup_card", "restricted_card", "fraudulent", "merchant_blacklist",
        "invalid_account", "invalid_number", "card_not_supported", "revocation_of_authorization",
        "revocation_of_all_authorizations", "stop_payment_order", "security_violation", "transaction_not_allowed",
        "no_such_issuer", "account_closed", "do_not_try_again"), HARD),
    **dict.fromkeys((
        "expired_card", "no_payment_method", "invalid_payment_method", "new_account_information_available",
        "invalid_expiry_month", "invalid_expiry_year", "incorrect_number", "authentication_required"),
        UPDATE_CREDENTIALS),
    **dict.fromkeys((
        "card_declined", "generic_decline", "insufficient_funds", "do_not_honor", "try_again_later",
        "processing_error", "reenter_transaction", "issuer_not_available", "approve_with_id", "call_issuer",
        "card_velocity_exceeded", "withdrawal_count_limit_exceeded", "duplicate_transaction"), SOFT),
}


@dataclass(frozen=True)
class Decline:
    """One decline as the apps reason about it."""

    code: str  # the processor's decline code
    category: str  # hard, soft, update_credentials or unknown
    network: str = ""  # visa, mastercard, amex, ... ("" when the processor does not say)
    network_code: str = ""  # the network's own response code
    advice_code: str = ""  # Mastercard's merchant advice code
    retry_after: int | None = None  # seconds the network asks to wait before a retry
    message: str = ""

    @property
    def never_again(self) -> bool:
        """True when this payment method must not be charged again until it changes."""
        return self.category in NEVER_AGAIN

    def as_record(self) -> dict[str, Any]:
        """As a step's output and the gateway's answer carry it (``steps.<key>.output.decline``)."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> Decline | None:
        if not isinstance(record, dict) or not record.get("category"):
            return None
        known = {name: record.get(name) for name in cls.__dataclass_fields__ if name in record}
        return cls(**known)


def classify(code: str | None, *, network: str = "", network_code: str = "", advice_code: str = "",
             message: str = "") -> Decline:
    """The decline a processor reported, categorised (see the module's docstring for the order)."""
    code, network = (code or "").strip(), (network or "").strip().lower()
    network_code, advice_code = (network_code or "").strip().upper(), (advice_code or "").strip()
    retry_after = None
    if network == "mastercard" and advice_code in MASTERCARD_ADVICE:
        category, retry_after = MASTERCARD_ADVICE[advice_code]
    elif network == "visa" and network_code in VISA_NEVER:
        category = HARD
    elif network == "visa" and network_code in VISA_DATA_QUALITY:
        category = UPDATE_CREDENTIALS
    else:
        category = PROCESSOR_CODES.get(code, UNKNOWN)
    return Decline(code=code or "unknown", category=category, network=network, network_code=network_code,
                   advice_code=advice_code, retry_after=retry_after, message=message)
