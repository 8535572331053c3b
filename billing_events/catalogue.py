"""The event catalogue: every event type with its description, payload schema and sample payload.

This module is the single source for every list of event types (model choices, validation, API
catalogue, builder palette). Host projects add their own types with :func:`register_event_type`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from collections.abc import Callable
from typing import Any
from billing_events.quick_schema import compile_schema
from billing_events.validation import format_checker
from billing_events.validation import validator_for

# Bounded as the reference models store them (12 whole digits for money, 16 for usage figures).
MONEY = {"type": ["string", "number"], "pattern": r"^-?\d{1,12}(\.\d{1,4})?$", "format": "money",
         "exclusiveMinimum": -10**12, "exclusiveMaximum": 10**12}
USAGE_FIGURE = {"type": "number", "exclusiveMinimum": -10**16, "exclusiveMaximum": 10**16}
DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
DATETIME = {"type": "string", "format": "date-time"}
NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}
STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_DATE = {"type": ["string", "null"], "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}

INVOICE_STATUSES = ["draft", "open", "paid", "void", "uncollectible"]
PAYMENT_STATUSES = ["pending", "succeeded", "failed"]
SUBSCRIPTION_STATUSES = ["trialing", "active", "past_due", "canceled", "ended"]


def _entity(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A billing record: every field is there unless named ``optional`` (a nullable one may be null)."""
    return {
        "type": "object",
        "required": ["id", *(name for name in properties if name not in optional)],
        "properties": {"id": {"type": "string", "minLength": 1}, **properties},
        "additionalProperties": True,
    }


def payload_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An entity as an event may carry it: a record's id and any of its fields (the run reads the
    rest through the billing gateway)."""
    if schema.get("required", [])[:1] != ["id"]:
        return schema  # usage, credits: a figure the event states in full
    return {**schema, "required": ["id"]}


#: Each entity as a run reads it through the billing gateway: a field not in ``required``, or
#: nullable, may be missing (templates must guard it); an event's data carries
#: :func:`payload_schema` of each.
ENTITY_SCHEMAS: dict[str, dict[str, Any]] = {
    "customer": _entity(
        {
            "name": STRING,
            "email": {"type": "string", "format": "email"},
            "phone": NULLABLE_STRING,
            "segment": NULLABLE_STRING,
            "tags": {"type": "array", "items": STRING},
            "timezone": STRING,
            "metadata": {"type": "object", "description": "The host's own keys: any of them may be missing."},
            "default_payment_method": NULLABLE_STRING,
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "card_update_url": {"type": "string", "format": "uri",
                                "description": "A link to a page where the customer updates their payment "
                                               "method (valid for 30 days): there when the billing system has "
                                               "such a page and PUBLIC_URL is set."},
        },
        optional=("currency", "card_update_url"),
    ),
    "invoice": _entity(
        {
            "customer_id": STRING,
            "subscription_id": NULLABLE_STRING,
            "number": STRING,
            "status": {"enum": INVOICE_STATUSES},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "total": MONEY,
            "amount_due": MONEY,
            "amount_paid": MONEY,
            "due_date": NULLABLE_DATE,
            "issued_at": NULLABLE_DATETIME,
            "payment_url": STRING,
            "line_items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"description": STRING, "quantity": {"type": "integer"}, "amount": MONEY},
                },
            },
        },
    ),
    "payment": _entity(
        {
            "invoice_id": NULLABLE_STRING,
            "customer_id": STRING,
            "amount": MONEY,
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "status": {"enum": PAYMENT_STATUSES},
            "failure_code": NULLABLE_STRING,
            "failure_message": NULLABLE_STRING,
            "attempt_number": {"type": "integer", "minimum": 1},
            "payment_method": NULLABLE_STRING,
        }
    ),
    "subscription": _entity(
        {
            "customer_id": STRING,
            "plan": STRING,
            "status": {"enum": SUBSCRIPTION_STATUSES},
            "current_period_end": NULLABLE_DATETIME,
            "cancel_at": NULLABLE_DATETIME,
        }
    ),
    "usage": {
        "type": "object",
        "required": ["metric", "value", "threshold"],
        "properties": {
            "metric": STRING,
            "value": USAGE_FIGURE,
            "threshold": USAGE_FIGURE,
            "percent": {"type": "number"},
        },
    },
    "credits": {
        "type": "object",
        "required": ["balance"],
        "properties": {"balance": MONEY, "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}},
    },
}

#: The data roots an event may carry, in the order the mirror upserts them.
ENTITY_ROOTS = tuple(ENTITY_SCHEMAS)


@dataclass
class EventType:
    """One kind of billing event: what it means, what its ``data`` holds, and an example."""
    name: str
    description: str
    requires: tuple[str, ...]
    sample: dict[str, Any]
    optional: tuple[str, ...] = ()
    extra_properties: dict[str, Any] = field(default_factory=dict)
    #: Fields of ``data`` besides the entities that some of these events carry (not required).
    optional_properties: dict[str, Any] = field(default_factory=dict)

    @property
    def schema(self) -> dict[str, Any]:
        """JSON Schema of the event's ``data``."""
        properties = {root: payload_schema(ENTITY_SCHEMAS[root]) for root in (*self.requires, *self.optional)}
        properties.update(self.extra_properties)
        properties.update(self.optional_properties)
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.name,
            "type": "object",
            "required": [*self.requires, *(k for k in self.extra_properties)],
            "properties": properties,
            "additionalProperties": True,
        }

    @cached_property
    def validator(self):
        """A prepared JSON Schema validator of the event's ``data``."""
        return validator_for(self.schema)

    @cached_property
    def quick_check(self) -> Callable[[Any], bool]:
        """True when ``data`` is surely valid, answered fast; False leaves it to :attr:`validator`."""
        return compile_schema(self.schema, format_checker) or (lambda data: False)

    def sample_data(self) -> dict[str, Any]:
        """A fresh copy of the sample payload (callers may mutate it)."""
        return copy.deepcopy(self.sample)


_CUSTOMER = {
    "id": "cus_1001",
    "name": "Acme Corp",
    "email": "billing@acme.example",
    "phone": "+14155550100",
    "segment": "smb",
    "tags": ["annual"],
    "timezone": "America/New_York",
    "metadata": {"account_manager": "dana@billing.example"},
    "default_payment_method": "pm_card_ok",
}
_INVOICE = {
    "id": "inv_2001",
    "customer_id": "cus_1001",
    "subscription_id": "sub_3001",
    "number": "INV-2026-0042",
    "status": "open",
    "currency": "USD",
    "total": "1250.00",
    "amount_due": "1250.00",
    "amount_paid": "0.00",
    "due_date": "2026-11-30",
    "issued_at": "2026-11-16T09:00:00Z",
    "payment_url": "https://billing.example/pay/inv_2001",
    "line_items": [
        {"description": "Pro plan (monthly)", "quantity": 1, "amount": "1000.00"},
        {"description": "Extra seats", "quantity": 5, "amount": "250.00"},
    ],
}
_PAID_INVOICE = {**_INVOICE, "status": "paid", "amount_due": "0.00", "amount_paid": "1250.00"}
_PAYMENT_FAILED = {
    "id": "pay_4001",
    "invoice_id": "inv_2001",
    "customer_id": "cus_1001",
    "amount": "1250.00",
    "currency": "USD",
    "status": "failed",
    "failure_code": "card_declined",
    "failure_message": "Your card was declined.",
    "attempt_number": 1,
    "payment_method": "pm_card_declined",
}
_PAYMENT_OK = {**_PAYMENT_FAILED, "id": "pay_4002", "status": "succeeded", "failure_code": None,
               "failure_message": None, "attempt_number": 2, "payment_method": "pm_card_ok"}
_SUBSCRIPTION = {
    "id": "sub_3001",
    "customer_id": "cus_1001",
    "plan": "pro-monthly",
    "status": "active",
    "current_period_end": "2026-12-16T09:00:00Z",
    "cancel_at": None,
}

_BUILTIN = [
    EventType("invoice.issued", "Invoice was issued", ("customer", "invoice"),
              {"customer": _CUSTOMER, "invoice": _INVOICE}),
    EventType("invoice.paid", "Invoice was paid", ("customer", "invoice"),
              {"customer": _CUSTOMER, "invoice": _PAID_INVOICE, "payment": _PAYMENT_OK}, optional=("payment",)),
    EventType("invoice.overdue", "Invoice became overdue (open and past its due date)", ("customer", "invoice"),
              {"customer": _CUSTOMER, "invoice": {**_INVOICE, "due_date": "2026-11-01"}}),
    EventType("invoice.voided", "Invoice was voided", ("customer", "invoice"),
              {"customer": _CUSTOMER, "invoice": {**_INVOICE, "status": "void", "amount_due": "0.00"}}),
    EventType("payment.failed", "Payment attempt failed", ("customer", "invoice", "payment"),
              {"customer": {**_CUSTOMER, "default_payment_method": "pm_card_declined"}, "invoice": _INVOICE,
               "payment": _PAYMENT_FAILED}),
    EventType("payment.succeeded", "Payment succeeded", ("customer", "payment"),
              {"customer": _CUSTOMER, "invoice": _PAID_INVOICE, "payment": _PAYMENT_OK}, optional=("invoice",)),
    EventType("subscription.activated", "Subscription became active", ("customer", "subscription"),
              {"customer": _CUSTOMER, "subscription": _SUBSCRIPTION}),
    EventType("subscription.canceled", "Subscription was canceled", ("customer", "subscription"),
              {"customer": _CUSTOMER,
               "subscription": {**_SUBSCRIPTION, "status": "canceled", "cancel_at": "2026-12-16T09:00:00Z"}}),
    EventType("subscription.ending_soon", "Subscription ending within X days", ("customer", "subscription"),
              {"customer": _CUSTOMER, "subscription": _SUBSCRIPTION, "days_before": 30},
              extra_properties={"days_before": {"type": "integer", "minimum": 0}}),
    EventType("customer.created", "New customer created", ("customer",), {"customer": _CUSTOMER}),
    EventType("credits.depleted", "Credit balance reached zero", ("customer", "credits"),
              {"customer": _CUSTOMER, "credits": {"balance": "0.00", "currency": "USD"}}),
    EventType("usage.threshold_exceeded", "Usage exceeded threshold", ("customer", "usage"),
              {"customer": _CUSTOMER, "subscription": _SUBSCRIPTION,
               "usage": {"metric": "api_calls", "value": 125000, "threshold": 100000, "percent": 125.0},
               "threshold_percent": 100},
              optional=("subscription",),
              optional_properties={"threshold_percent": {
                  "type": "integer", "minimum": 1,
                  "description": "The automation's threshold it crossed, in percent (events of the daily usage scan)"}}),
]

EVENT_TYPES: dict[str, EventType] = {event_type.name: event_type for event_type in _BUILTIN}


def register_event_type(event_type: EventType) -> None:
    """Add a host project's own event type (call it from an ``AppConfig.ready()``)."""
    EVENT_TYPES[event_type.name] = event_type


def get_event_type(name: str) -> EventType | None:
    """The catalogue entry for ``name``, or None when no such type is known."""
    return EVENT_TYPES.get(name)


def event_type_names() -> list[str]:
    """Every known event type, sorted."""
    return sorted(EVENT_TYPES)
