"""The contract a billing system implements to be driven by automations.

Reads return plain dicts with the fields each method's docstring lists: money as ``Decimal``, dates
as ``date``/``datetime``. ``None`` means the billing system knows nothing of that id, in which case
the engine falls back to the event's snapshot.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

Record = dict[str, Any]


class GatewayError(Exception):
    """A gateway operation failed. ``retryable`` says whether trying again may succeed."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class BillingGateway:
    """Base class of billing gateways. Subclass it and point the setting at the subclass."""

    #: True when the gateway's operations write to the apps' own database (the reference gateway):
    #: an operation that records nothing when it fails then runs in its step's transaction.
    shares_database: bool = False

    def get_customer(self, customer_id: str) -> Record | None:
        """The customer with ``customer_id``: id, name, email, phone, segment, tags, timezone
        (empty or absent when the customer has none: never a default), metadata, default_payment_method."""
        raise NotImplementedError(".get_customer() must be overridden.")

    def get_invoice(self, invoice_id: str) -> Record | None:
        """The invoice: id, number, status, currency, total, amount_due, amount_paid, due_date,
        issued_at, payment_url, customer_id, line_items."""
        raise NotImplementedError(".get_invoice() must be overridden.")

    def get_subscription(self, subscription_id: str) -> Record | None:
        """The subscription: id, plan, status, current_period_end, cancel_at, customer_id."""
        raise NotImplementedError(".get_subscription() must be overridden.")

    def get_payment(self, payment_id: str) -> Record | None:
        """The payment: id, amount, currency, status, failure_code, failure_message, attempt_number."""
        raise NotImplementedError(".get_payment() must be overridden.")

    def get_credits(self, customer_id: str) -> Record | None:
        """The customer's credit balance: ``{"balance": Decimal, "currency": str}``."""
        return None

    def get_usage(self, customer_id: str, metric: str | None = None) -> Record | None:
        """Current-period usage: metric, value, threshold, percent."""
        return None

    def card_update_url(self, customer_id: str, *, return_url: str | None = None) -> str | None:
        """Where the customer updates their payment method, made now and short-lived (Stripe's
        billing portal), or None when the billing system has no such page (the default)."""
        return None

    def list_collection(self, name: str, *, after: str | None = None, limit: int = 200) -> tuple[list[Record], str | None]:
        """One page of a collection (``customers``, ``invoices``, ``subscriptions``, ``usage``) in a
        stable order: the records, and the token to pass as ``after`` for the next page (None at
        the end). Loops over collections and the derived-event scans page through it."""
        raise NotImplementedError(".list_collection() must be overridden.")

    # Operations. Each takes the step's idempotency key: called again with the same key, an
    # operation must not act again but return the first call's result.

    def find_operation(self, idempotency_key: str) -> Record | None:
        """The result of the operation performed with ``idempotency_key``, or None if none was."""
        return None

    def describe_payment_method(self, invoice_id: str, *, payment_method: str | None,
                                customer: Record | None = None) -> Record | None:
        """The card ``retry_payment`` would charge for the invoice (``payment_method`` None: the
        customer's default): ``{"id", "fingerprint", "network", "updated_at"}``. The fingerprint
        names the card whatever its method's id (the same card saved twice has one), so the apps
        count retries per card across automations and keep a hard decline's card from being charged
        again; ``updated_at`` (a datetime, or None) is when its details last changed, which lifts a
        decline that asked for new details. None when there is no payment method, or the gateway
        cannot say (then each payment method id counts as a card of its own). ``customer`` is the
        run's view of the customer, for one the gateway does not store (test mode)."""
        return None

    def retry_payment(self, invoice_id: str, *, payment_method: str | None, idempotency_key: str) -> Record:
        """Charge the invoice's amount due. ``payment_method`` None means the customer's default.
        Returns ``{"status": "succeeded"|"failed", "payment_id", "amount", "currency",
        "payment_method", "decline"}``, where ``decline`` (None when it paid) is
        ``billing_events.declines.Decline.as_record()`` of what the processor said (``classify()``
        maps a processor's codes onto it), with ``decline_code`` and ``decline_message`` beside it;
        raises ``GatewayError(retryable=True)`` when the processor is temporarily unavailable (the
        card was not charged)."""
        raise NotImplementedError(".retry_payment() must be overridden.")

    def predict_retry_payment(self, invoice_id: str, *, payment_method: str | None, invoice: Record | None = None,
                              customer: Record | None = None) -> Record | None:
        """What ``retry_payment`` would answer now, without charging (for test mode): the same
        record, or the same ``GatewayError``; None when the gateway cannot tell. ``invoice`` and
        ``customer`` are the run's view of them, for what the gateway does not store itself."""
        return None

    def void_invoice(self, invoice_id: str, *, reason: str, idempotency_key: str) -> Record:
        raise NotImplementedError(".void_invoice() must be overridden.")

    def create_credit_note(self, invoice_id: str, *, amount: Decimal | None, reason: str,
                           idempotency_key: str) -> Record:
        """Credit ``amount`` (None: the full amount) against the invoice."""
        raise NotImplementedError(".create_credit_note() must be overridden.")

    def apply_credits(self, invoice_id: str, *, amount: Decimal | None, idempotency_key: str) -> Record:
        """Pay the invoice from the customer's credit balance (None: as much as available)."""
        raise NotImplementedError(".apply_credits() must be overridden.")

    def update_customer(self, customer_id: str, *, fields: dict[str, Any], metadata: dict[str, Any],
                        idempotency_key: str) -> Record:
        """Set customer fields and metadata keys (a metadata value of None removes the key)."""
        raise NotImplementedError(".update_customer() must be overridden.")

    def add_tag(self, customer_id: str, tag: str, *, idempotency_key: str) -> Record:
        raise NotImplementedError(".add_tag() must be overridden.")
