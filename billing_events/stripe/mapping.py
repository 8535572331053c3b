"""Which Stripe event becomes which catalogue event, and the catalogue payload built from the Stripe
object it carries.

Each entry of :data:`MAPPINGS` names a Stripe event type, the catalogue type it becomes and how its
payload is built. A type not in the table is acknowledged and counted, never emitted; a mapped type
whose object is in a state that is no catalogue event (a subscription created ``incomplete``) is
treated the same way. Plain dicts in, plain dicts out: the ``stripe`` library is not needed here.

Money: Stripe states amounts in the currency's smallest unit (cents), except zero-decimal currencies
(JPY: yen) and three-decimal ones (KWD: fils); payloads carry amounts in currency units. Times:
Stripe's Unix seconds become aware UTC datetimes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from billing_events.payloads import as_event_entity

StripeObject = dict[str, Any]

#: Currencies Stripe counts in whole units (https://docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL_CURRENCIES = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX",
                                     "VND", "VUV", "XAF", "XOF", "XPF"})
#: Currencies Stripe counts in thousandths (https://docs.stripe.com/currencies#three-decimal).
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

#: Stripe's subscription statuses as the catalogue's; a status not here is left out of the payload.
SUBSCRIPTION_STATUSES = {
    "trialing": "trialing", "active": "active", "past_due": "past_due", "unpaid": "past_due",
    "incomplete": "past_due", "canceled": "canceled", "incomplete_expired": "ended",
}
ACTIVE_STATUSES = ("active", "trialing")


@dataclass(frozen=True)
class MappedEvent:
    """What :func:`map_event` makes of a Stripe event: the arguments of ``emit()``."""
    type: str
    data: dict[str, Any]
    id: str
    occurred_at: datetime


@dataclass(frozen=True)
class StripeMapping:
    """One row of the table: a Stripe event type, the catalogue type it becomes, and when and how."""
    stripe_type: str
    event_type: str
    description: str
    #: The payload from the Stripe event, or None when the object's state is no catalogue event.
    build: Callable[[StripeObject], dict[str, Any] | None]
    #: The id it is stored under; by default the Stripe event's id, so a redelivery is stored once.
    event_id: Callable[[StripeObject, dict[str, Any]], str] = lambda stripe_event, data: stripe_event["id"]

    def as_row(self) -> dict[str, str]:
        """The row as documented and served by the API."""
        return {"stripe_type": self.stripe_type, "event_type": self.event_type, "description": self.description}


def money(amount: int | None, currency: str) -> Decimal | None:
    """A Stripe amount (in the currency's smallest unit) in currency units."""
    if amount is None:
        return None
    code = currency.upper()
    places = 0 if code in ZERO_DECIMAL_CURRENCIES else 3 if code in THREE_DECIMAL_CURRENCIES else 2
    return Decimal(int(amount)).scaleb(-places)


def moment(seconds: int | None) -> datetime | None:
    """A Stripe timestamp (Unix seconds) as an aware UTC datetime."""
    return None if seconds is None else datetime.fromtimestamp(int(seconds), tz=timezone.utc)


def _id(value: Any) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) and value else None


def _currency(obj: StripeObject) -> str:
    return str(obj.get("currency") or "usd").upper()


def _object(stripe_event: StripeObject) -> StripeObject:
    return stripe_event["data"]["object"]


# --- entities ------------------------------------------------------------------------------------

def customer_from_customer(obj: StripeObject) -> dict[str, Any]:
    """The catalogue customer from a Stripe customer."""
    settings = obj.get("invoice_settings") or {}
    return as_event_entity({
        "id": obj["id"], "name": obj.get("name"), "email": obj.get("email"), "phone": obj.get("phone"),
        "metadata": obj.get("metadata") or None,
        "default_payment_method": _id(settings.get("default_payment_method")) or _id(obj.get("default_source")),
        "currency": obj["currency"].upper() if obj.get("currency") else None,
    })


def customer_from_invoice(obj: StripeObject) -> dict[str, Any]:
    """The catalogue customer as far as a Stripe invoice tells (the rest is read through the gateway)."""
    customer = obj.get("customer")
    if isinstance(customer, dict):  # expanded
        return customer_from_customer(customer)
    return as_event_entity({"id": customer, "name": obj.get("customer_name"), "email": obj.get("customer_email"),
                            "phone": obj.get("customer_phone")})


def _invoice_subscription(obj: StripeObject) -> str | None:
    # Stripe's newer API versions moved it under parent.subscription_details.
    details = (obj.get("parent") or {}).get("subscription_details") or {}
    return _id(obj.get("subscription")) or _id(details.get("subscription"))


def invoice(obj: StripeObject) -> dict[str, Any]:
    """The catalogue invoice from a Stripe invoice."""
    currency = _currency(obj)
    due = moment(obj.get("due_date"))
    transitions = obj.get("status_transitions") or {}
    lines = (obj.get("lines") or {}).get("data") or []
    return as_event_entity({
        "id": obj["id"], "customer_id": _id(obj.get("customer")), "subscription_id": _invoice_subscription(obj),
        "number": obj.get("number"), "status": obj.get("status"), "currency": currency,
        "total": money(obj.get("total"), currency), "amount_due": money(obj.get("amount_due"), currency),
        "amount_paid": money(obj.get("amount_paid"), currency),
        "due_date": due.date() if due else None,
        "issued_at": moment(transitions.get("finalized_at")),
        "payment_url": obj.get("hosted_invoice_url"),
        "line_items": [{"description": line.get("description") or "", "quantity": line.get("quantity") or 1,
                        "amount": str(money(line.get("amount") or 0, currency))} for line in lines] or None,
    })


def payment_from_invoice(obj: StripeObject, status: str) -> dict[str, Any]:
    """The payment attempt a Stripe invoice event reports: one per attempt, so a retry that fails again
    is another payment. Its failure comes from the payment intent when Stripe sent it expanded."""
    currency = _currency(obj)
    attempt = int(obj.get("attempt_count") or 1)
    intent = obj.get("payment_intent")
    error = (intent.get("last_payment_error") or {}) if isinstance(intent, dict) else {}
    charge = _id(obj.get("charge"))
    payment_id = charge or (f"{_id(intent)}_{attempt}" if _id(intent) else f"{obj['id']}_attempt_{attempt}")
    amount = obj.get("amount_paid") if status == "succeeded" else obj.get("amount_remaining", obj.get("amount_due"))
    return as_event_entity({
        "id": payment_id, "invoice_id": obj["id"], "customer_id": _id(obj.get("customer")),
        "amount": money(amount, currency), "currency": currency, "status": status,
        "failure_code": (error.get("decline_code") or error.get("code")) if status == "failed" else None,
        "failure_message": error.get("message") if status == "failed" else None,
        "attempt_number": attempt,
        "payment_method": _id(error.get("payment_method")) or _id(obj.get("default_payment_method")),
    })


def _plan(obj: StripeObject) -> str | None:
    items = (obj.get("items") or {}).get("data") or []
    item = items[0] if items else {}
    price = item.get("price") or item.get("plan") or obj.get("plan") or {}
    return price.get("lookup_key") or price.get("id") if isinstance(price, dict) else _id(price)


def subscription(obj: StripeObject) -> dict[str, Any]:
    """The catalogue subscription from a Stripe subscription (a trial's end is its period's end)."""
    items = (obj.get("items") or {}).get("data") or []
    period_end = obj.get("current_period_end") or (items[0].get("current_period_end") if items else None)
    return as_event_entity({
        "id": obj["id"], "customer_id": _id(obj.get("customer")), "plan": _plan(obj),
        "status": SUBSCRIPTION_STATUSES.get(obj.get("status") or ""),
        "current_period_end": moment(obj.get("trial_end") if obj.get("status") == "trialing" else period_end),
        "cancel_at": moment(obj.get("cancel_at") or obj.get("ended_at") or obj.get("canceled_at")),
    })


# --- payloads ------------------------------------------------------------------------------------

def _invoice_payload(stripe_event: StripeObject) -> dict[str, Any]:
    obj = _object(stripe_event)
    return {"customer": customer_from_invoice(obj), "invoice": invoice(obj)}


def _payment_failed(stripe_event: StripeObject) -> dict[str, Any]:
    obj = _object(stripe_event)
    return {**_invoice_payload(stripe_event), "payment": payment_from_invoice(obj, "failed")}


def _invoice_paid(stripe_event: StripeObject) -> dict[str, Any]:
    obj = _object(stripe_event)
    payload = _invoice_payload(stripe_event)
    if obj.get("amount_paid"):  # paid out of band or by credit: no payment to report
        payload["payment"] = payment_from_invoice(obj, "succeeded")
    return payload


def _payment_succeeded(stripe_event: StripeObject) -> dict[str, Any]:
    obj = _object(stripe_event)
    return {**_invoice_payload(stripe_event), "payment": payment_from_invoice(obj, "succeeded")}


def _subscription_payload(stripe_event: StripeObject) -> dict[str, Any]:
    obj = _object(stripe_event)
    return {"customer": {"id": _id(obj.get("customer"))}, "subscription": subscription(obj)}


def _subscription_created(stripe_event: StripeObject) -> dict[str, Any] | None:
    if _object(stripe_event).get("status") not in ACTIVE_STATUSES:
        return None  # incomplete: it becomes active (customer.subscription.updated) once paid
    return _subscription_payload(stripe_event)


def _subscription_became_active(stripe_event: StripeObject) -> dict[str, Any] | None:
    previous = (stripe_event["data"].get("previous_attributes") or {}).get("status")
    if previous != "incomplete" or _object(stripe_event).get("status") not in ACTIVE_STATUSES:
        return None  # any other change of a subscription is no catalogue event
    return _subscription_payload(stripe_event)


def _trial_ending(stripe_event: StripeObject) -> dict[str, Any] | None:
    obj = _object(stripe_event)
    if not obj.get("trial_end"):
        return None
    left = round((int(obj["trial_end"]) - int(stripe_event["created"])) / 86400)
    return {**_subscription_payload(stripe_event), "days_before": max(left, 0)}


def _customer_created(stripe_event: StripeObject) -> dict[str, Any]:
    return {"customer": customer_from_customer(_object(stripe_event))}


# The derived events' ids: the same as the daily scans give them, so an event Stripe sends and the
# scan's are stored (and start runs) once, whichever comes first.

def _ending_soon_id(stripe_event: StripeObject, data: dict[str, Any]) -> str:
    end = moment(_object(stripe_event)["trial_end"])
    return f"evt_ending_soon_{data['subscription']['id']}_{end:%Y%m%d}_{data['days_before']}"


def _overdue_id(stripe_event: StripeObject, data: dict[str, Any]) -> str:
    due = data["invoice"].get("due_date")
    return f"evt_overdue_{data['invoice']['id']}_{due.replace('-', '')}" if due else stripe_event["id"]


def _paid_id(stripe_event: StripeObject, data: dict[str, Any]) -> str:
    """An invoice is paid once: Stripe's invoice.paid and the invoice.payment_succeeded of the
    charge that paid it are one catalogue event, stored under the invoice's id, whichever comes
    first (an endpoint subscribed to only one of them still hears of the payment)."""
    return f"evt_paid_{data['invoice']['id']}"


def _paid_by_charge(stripe_event: StripeObject) -> dict[str, Any] | None:
    if _object(stripe_event).get("status") != "paid":
        return None  # a charge that paid part of it: the invoice is not paid yet
    return _invoice_paid(stripe_event)


def _overdue(stripe_event: StripeObject) -> dict[str, Any] | None:
    payload = _invoice_payload(stripe_event)
    return payload if payload["invoice"].get("status") == "open" else None


#: The table, in the order a Stripe event's catalogue events are stored: one Stripe type may become
#: several catalogue events (a charge that pays an invoice is a payment and the invoice's payment).
MAPPINGS: tuple[StripeMapping, ...] = (
    StripeMapping("invoice.finalized", "invoice.issued",
                  "An invoice was finalized: it is open, numbered and can be paid.", _invoice_payload),
    StripeMapping("invoice.paid", "invoice.paid",
                  "An invoice was paid, by a charge (carried as the payment) or out of band; stored under "
                  "evt_paid_<invoice id>, so it and the invoice.payment_succeeded that paid it are one event.",
                  _invoice_paid, _paid_id),
    StripeMapping("invoice.payment_failed", "payment.failed",
                  "A charge for an invoice failed; each attempt is a payment of its own (attempt_number).",
                  _payment_failed),
    StripeMapping("invoice.payment_succeeded", "payment.succeeded", "A charge for an invoice succeeded.",
                  _payment_succeeded),
    StripeMapping("invoice.payment_succeeded", "invoice.paid",
                  "The charge paid the invoice in full: the invoice's payment, one event with Stripe's "
                  "invoice.paid (both stored under evt_paid_<invoice id>, whichever comes first).",
                  _paid_by_charge, _paid_id),
    StripeMapping("invoice.voided", "invoice.voided", "An invoice was voided.", _invoice_payload),
    StripeMapping("invoice.overdue", "invoice.overdue",
                  "An open invoice is past its due date; stored under the id the daily overdue scan gives it, "
                  "so the two are one event.", _overdue, _overdue_id),
    StripeMapping("customer.created", "customer.created", "A customer was created.", _customer_created),
    StripeMapping("customer.subscription.created", "subscription.activated",
                  "A subscription was created active or trialing (one created incomplete is not mapped).",
                  _subscription_created),
    StripeMapping("customer.subscription.updated", "subscription.activated",
                  "An incomplete subscription became active or trialing once its first invoice was paid "
                  "(any other update is not mapped).", _subscription_became_active),
    StripeMapping("customer.subscription.deleted", "subscription.canceled", "A subscription ended (canceled).",
                  _subscription_payload),
    StripeMapping("customer.subscription.trial_will_end", "subscription.ending_soon",
                  "A trial ends in days_before days (Stripe sends it three days ahead); stored under the id "
                  "the daily ending-soon scan gives it, so the two are one event.", _trial_ending, _ending_soon_id),
)
#: The Stripe event types the table maps (what a webhook endpoint subscribes to).
MAPPED_TYPES: frozenset[str] = frozenset(mapping.stripe_type for mapping in MAPPINGS)


def map_event(stripe_event: StripeObject) -> list[MappedEvent]:
    """The catalogue events a verified Stripe event becomes, in the table's order (none: it is
    acknowledged and counted)."""
    mapped = []
    for mapping in MAPPINGS:
        if mapping.stripe_type != stripe_event["type"]:
            continue
        data = mapping.build(stripe_event)
        if data is not None:
            mapped.append(MappedEvent(mapping.event_type, data, mapping.event_id(stripe_event, data),
                                      moment(stripe_event["created"])))
    return mapped
