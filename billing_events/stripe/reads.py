"""Stripe's objects as the gateway's read records: amounts from the currency's smallest unit to
``Decimal`` (honouring currencies without decimals), Unix times to aware datetimes, and the
customer fields Stripe has no place for (segment, tags, timezone) kept in the customer's metadata."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from billing_events.gateway.base import Record

#: Currencies Stripe counts in whole units (no minor unit).
ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                          "vuv", "xaf", "xof", "xpf"})
#: Currencies Stripe counts in thousandths.
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
#: The customer metadata keys that hold the gateway's segment, tags and timezone.
SEGMENT, TAGS, TIMEZONE = "segment", "tags", "timezone"
#: Tags are kept as one metadata value, separated by commas (Stripe metadata values are strings).
TAG_SEPARATOR = ","


def plain(obj: Any) -> dict[str, Any]:
    """A Stripe object as plain dicts and lists."""
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    for method in ("to_dict", "to_dict_recursive"):
        if hasattr(obj, method):
            return getattr(obj, method)()
    return dict(obj)


def exponent(currency: str | None) -> int:
    code = (currency or "").lower()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def to_decimal(amount: int | None, currency: str | None) -> Decimal | None:
    """Stripe's integer amount in ``currency``'s smallest unit as a Decimal of the currency."""
    if amount is None:
        return None
    places = exponent(currency)
    return (Decimal(int(amount)) / (10 ** places)).quantize(Decimal(1).scaleb(-places))


def to_minor(amount: Decimal, currency: str | None) -> int:
    """A Decimal amount as Stripe's integer in the currency's smallest unit."""
    return int((Decimal(amount) * (10 ** exponent(currency))).to_integral_value())


def to_datetime(timestamp: int | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(int(timestamp), tz=timezone.utc)


def to_date(timestamp: int | None) -> date | None:
    moment = to_datetime(timestamp)
    return moment.date() if moment else None


def currency_code(currency: str | None) -> str:
    """The ISO code as the apps write it (Stripe writes it in lower case)."""
    return (currency or "").upper()


def _id(value: Any) -> str | None:
    """An id, whether Stripe answered it as a string or as an expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def tags_of(metadata: dict[str, Any]) -> list[str]:
    return [tag for tag in (metadata.get(TAGS) or "").split(TAG_SEPARATOR) if tag]


def default_payment_method(customer: dict[str, Any]) -> str | None:
    """What Stripe charges a customer's invoices with when nothing more specific is set."""
    return _id((customer.get("invoice_settings") or {}).get("default_payment_method")) or _id(
        customer.get("default_source"))


def metadata_of(obj: dict[str, Any]) -> dict[str, Any]:
    """An object's metadata; a key set to "" is a removed key (as Stripe itself treats it)."""
    return {name: value for name, value in (obj.get("metadata") or {}).items() if value != ""}


def customer_record(customer: dict[str, Any]) -> Record:
    metadata = metadata_of(customer)
    return {
        "id": customer["id"], "name": customer.get("name") or "", "email": customer.get("email") or "",
        "phone": customer.get("phone") or "", "segment": metadata.get(SEGMENT, ""), "tags": tags_of(metadata),
        "timezone": metadata.get(TIMEZONE, ""), "metadata": metadata,
        "default_payment_method": default_payment_method(customer),
        "currency": currency_code(customer.get("currency")),
    }


def credits_record(customer: dict[str, Any]) -> Record:
    """Stripe's customer balance is negative when it is a credit: a credit balance is its opposite."""
    balance = to_decimal(-(customer.get("balance") or 0), customer.get("currency"))
    return {"balance": balance, "currency": currency_code(customer.get("currency"))}


def _line(line: dict[str, Any], currency: str | None) -> Record:
    return {"id": line.get("id"), "description": line.get("description") or "",
            "amount": to_decimal(line.get("amount"), currency), "quantity": line.get("quantity")}


def payment_id_of(invoice: dict[str, Any]) -> str | None:
    """The payment that paid (or last tried to pay) the invoice: its payment intent in the API
    versions that name one on the invoice, else the first of its invoice payments."""
    direct = _id(invoice.get("payment_intent")) or _id(invoice.get("charge"))
    if direct:
        return direct
    for payment in ((invoice.get("payments") or {}).get("data") or []):
        inner = payment.get("payment") or {}
        found = _id(inner.get("payment_intent")) or _id(inner.get("charge"))
        if found:
            return found
    return None


def invoice_record(invoice: dict[str, Any]) -> Record:
    currency = invoice.get("currency")
    transitions = invoice.get("status_transitions") or {}
    return {
        "id": invoice["id"], "number": invoice.get("number") or "", "status": invoice.get("status"),
        "currency": currency_code(currency), "total": to_decimal(invoice.get("total"), currency),
        "amount_due": to_decimal(invoice.get("amount_due"), currency),
        "amount_paid": to_decimal(invoice.get("amount_paid"), currency),
        "due_date": to_date(invoice.get("due_date")),
        "issued_at": to_datetime(transitions.get("finalized_at") or invoice.get("created") or invoice.get("date")),
        # Stripe's hosted page where the customer pays the invoice: what a reminder links to.
        "payment_url": invoice.get("hosted_invoice_url") or "",
        "customer_id": _id(invoice.get("customer")), "subscription_id": _id(invoice.get("subscription")),
        "payment_id": payment_id_of(invoice),
        "line_items": [_line(line, currency) for line in ((invoice.get("lines") or {}).get("data") or [])],
        "metadata": dict(invoice.get("metadata") or {}),
    }


def _plan_of(subscription: dict[str, Any]) -> tuple[str, Any]:
    """The subscription's plan (price, in later API versions) and its first item (which carries
    the current period in later API versions)."""
    items = (subscription.get("items") or {}).get("data") or []
    first = items[0] if items else {}
    plan = subscription.get("plan") or first.get("price") or first.get("plan") or {}
    name = plan.get("nickname") or plan.get("lookup_key") or plan.get("id") if isinstance(plan, dict) else plan
    return name or "", first


def subscription_record(subscription: dict[str, Any]) -> Record:
    plan, first = _plan_of(subscription)
    period_end = subscription.get("current_period_end") or first.get("current_period_end")
    return {
        "id": subscription["id"], "plan": plan, "status": subscription.get("status"),
        "current_period_end": to_datetime(period_end), "cancel_at": to_datetime(subscription.get("cancel_at")),
        "customer_id": _id(subscription.get("customer")), "metadata": dict(subscription.get("metadata") or {}),
    }


def payment_record(payment: dict[str, Any], *, attempt_number: int | None = None) -> Record:
    """A payment intent or a charge as the gateway's payment."""
    currency = payment.get("currency")
    error = payment.get("last_payment_error") or {}
    status = payment.get("status")
    if payment.get("object") == "payment_intent" and status == "requires_payment_method" and error:
        status = "failed"  # Stripe's way of saying the last attempt was declined
    return {
        "id": payment["id"], "amount": to_decimal(payment.get("amount"), currency),
        "currency": currency_code(currency), "status": status,
        "failure_code": error.get("decline_code") or error.get("code") or payment.get("failure_code") or "",
        "failure_message": error.get("message") or payment.get("failure_message") or "",
        "attempt_number": attempt_number, "invoice_id": _id(payment.get("invoice")),
        "customer_id": _id(payment.get("customer")), "payment_method": _id(payment.get("payment_method")),
    }
