"""The Stripe webhook: only Stripe's signed events are taken; each is stored once under its Stripe id
as the catalogue event it maps to; anything else is acknowledged and counted; an older event never
rolls the mirrored data back."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import stripe
from django.core.checks import run_checks

from billing_events.clock import now
from billing_events.models import Event, Invoice, SkippedStripeEvent, Subscription
from billing_events.stripe.mapping import MAPPED_TYPES, MAPPINGS, map_event

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stripe.urls")]

URL = "/stripe/webhook/"
SECRET = "whsec_current"
PREVIOUS_SECRET = "whsec_previous"


@pytest.fixture(autouse=True)
def secrets(settings):
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "STRIPE_WEBHOOK_SECRETS": [SECRET]}


def seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def stripe_event(stripe_type: str, obj: dict[str, Any], *, id: str = "evt_1",  # noqa: A002
                 created: datetime | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": id, "object": "event", "type": stripe_type, "created": seconds(created or now()),
            "data": {"object": obj, **extra}, "livemode": False, "api_version": "2024-06-20"}


def stripe_invoice(**fields: Any) -> dict[str, Any]:
    """A Stripe invoice as Stripe sends it: amounts in cents, times in Unix seconds."""
    return {"id": "in_1", "object": "invoice", "customer": "cus_1", "customer_email": "ada@example.com",
            "customer_name": "Ada", "subscription": "sub_1", "number": "INV-0001", "status": "open",
            "currency": "usd", "total": 125000, "amount_due": 125000, "amount_paid": 0, "amount_remaining": 125000,
            "attempt_count": 1, "charge": "ch_1", "due_date": seconds(now() + timedelta(days=14)),
            "hosted_invoice_url": "https://invoice.stripe.com/i/in_1",
            "status_transitions": {"finalized_at": seconds(now())},
            "lines": {"data": [{"description": "Pro plan", "quantity": 1, "amount": 125000}]}, **fields}


def stripe_subscription(**fields: Any) -> dict[str, Any]:
    return {"id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active",
            "current_period_end": seconds(now() + timedelta(days=30)), "cancel_at": None, "trial_end": None,
            "items": {"data": [{"price": {"id": "price_1", "lookup_key": "pro-monthly"}}]}, **fields}


def post(client, body: dict[str, Any] | str, *, secret: str = SECRET, at: datetime | None = None,
         header: str | None = None):
    """POST ``body`` signed as Stripe signs it, at ``at`` on the test clock (the header as given, if given)."""
    payload = body if isinstance(body, str) else json.dumps(body)
    if header is None:
        header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=seconds(at or now()))
    extra = {"HTTP_STRIPE_SIGNATURE": header} if header else {}
    return client.post(URL, payload, content_type="application/json", **extra)


def error(response) -> dict[str, str]:
    [only] = response.json()["errors"]
    return only


# --- verification --------------------------------------------------------------------------------

def test_a_signed_payment_failure_is_stored_under_its_stripe_id_as_payment_failed(client):
    response = post(client, stripe_event("invoice.payment_failed", stripe_invoice(), id="evt_pf"))

    assert response.status_code == 200
    assert response.json() == {"id": "evt_pf", "event_type": "payment.failed", "stored": True}
    event = Event.objects.get()
    assert (event.id, event.type, event.occurred_at) == ("evt_pf", "payment.failed", now().replace(microsecond=0))
    assert event.data["payment"] == {"id": "ch_1", "invoice_id": "in_1", "customer_id": "cus_1", "amount": "1250.00",
                                     "currency": "USD", "status": "failed", "attempt_number": 1}
    assert Invoice.objects.get(pk="in_1").amount_due == Decimal("1250.00")


@pytest.mark.parametrize(("header", "reason"), [
    (None, "the header is missing"),
    ("t=1,v1=deadbeef", "No signatures found matching the expected signature"),
    ("garbage", "Unable to extract timestamp and signatures from header"),
])
def test_a_request_without_a_valid_signature_is_400_and_stores_nothing(client, header, reason):
    body = stripe_event("invoice.payment_failed", stripe_invoice())
    response = post(client, body, header=header or "")

    assert response.status_code == 400
    assert error(response)["field"] == "Stripe-Signature" and reason in error(response)["message"]
    assert not Event.objects.exists() and not Invoice.objects.exists()


def test_a_payload_signed_with_another_secret_is_refused(client):
    response = post(client, stripe_event("invoice.payment_failed", stripe_invoice()), secret="whsec_someone_else")
    assert response.status_code == 400 and "No signatures found matching" in error(response)["message"]
    assert not Event.objects.exists()


def test_a_payload_changed_after_signing_is_refused(client):
    payload = json.dumps(stripe_event("invoice.paid", stripe_invoice(status="paid")))
    header = stripe.WebhookSignature.generate_signature_header(payload, SECRET, timestamp=seconds(now()))
    response = post(client, payload.replace("125000", "1"), header=header)
    assert response.status_code == 400 and not Event.objects.exists()


def test_a_signature_older_than_five_minutes_is_refused_as_a_replay(client):
    body = stripe_event("invoice.payment_failed", stripe_invoice())
    assert post(client, body, at=now() - timedelta(seconds=290)).status_code == 200  # within the tolerance

    response = post(client, {**body, "id": "evt_2"}, at=now() - timedelta(seconds=310))
    assert response.status_code == 400 and "Timestamp outside the tolerance zone" in error(response)["message"]
    assert list(Event.objects.values_list("id", flat=True)) == ["evt_1"]


def test_during_a_rotation_both_secrets_verify(client, settings):
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "STRIPE_WEBHOOK_SECRETS": [SECRET, PREVIOUS_SECRET]}
    assert post(client, stripe_event("customer.created", {"id": "cus_1"}, id="evt_a")).status_code == 200
    assert post(client, stripe_event("customer.created", {"id": "cus_2"}, id="evt_b"),
                secret=PREVIOUS_SECRET).status_code == 200
    assert sorted(Event.objects.values_list("id", flat=True)) == ["evt_a", "evt_b"]


def test_without_signing_secrets_the_endpoint_refuses_everything(client, settings):
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "STRIPE_WEBHOOK_SECRETS": []}
    response = post(client, stripe_event("customer.created", {"id": "cus_1"}), secret="anything")
    assert response.status_code == 503 and "STRIPE_WEBHOOK_SECRETS" in error(response)["message"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ("{not json", "body"),
    ("[1, 2]", "body"),
    (json.dumps({"id": "evt_1", "type": "invoice.paid", "created": 1, "data": {}}), "data.object"),
    (json.dumps({"type": "invoice.paid", "created": 1, "data": {"object": {}}}), "id"),
    (json.dumps({"id": "evt_1", "type": "invoice.paid", "created": "yesterday", "data": {"object": {}}}), "created"),
])
def test_a_signed_body_that_is_no_stripe_event_is_400_naming_the_field(client, body, field):
    response = post(client, body)
    assert response.status_code == 400 and error(response)["field"] == field
    assert not Event.objects.exists() and not SkippedStripeEvent.objects.exists()


def test_a_mapped_event_whose_object_is_not_what_stripe_sends_is_400_not_500(client):
    response = post(client, stripe_event("invoice.paid", {"id": "in_1", "customer": "cus_1", "total": "lots",
                                                          "currency": "usd", "status": "paid"}))
    assert response.status_code == 400 and error(response)["field"].startswith("data")
    assert not Event.objects.exists()


def test_only_post_is_allowed(client):
    assert client.get(URL).status_code == 405


# --- once per Stripe id, unmapped, order -----------------------------------------------------------

def test_a_redelivered_event_is_acknowledged_and_stored_once(client, dunning, django_capture_on_commit_callbacks):
    from automations.models import Execution

    body = stripe_event("invoice.payment_failed", stripe_invoice(), id="evt_again")
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, body)
    with django_capture_on_commit_callbacks(execute=True):
        again = post(client, body, at=now() + timedelta(hours=1))  # Stripe retries later, signing anew

    assert (first.status_code, first.json()["stored"]) == (200, True)
    assert (again.status_code, again.json()["stored"]) == (200, False)
    assert Event.objects.count() == 1 and Execution.objects.filter(automation=dunning).count() == 1


def test_the_charge_that_pays_an_invoice_and_stripes_invoice_paid_are_one_invoice_paid_that_ends_the_dunning(
        client, dunning, django_capture_on_commit_callbacks):
    """Stripe sends both for a charge that pays an invoice, in any order; an endpoint subscribed to
    only one of them still hears that the invoice was paid, and the dunning's exit_on fires once."""
    from automations.models import Execution

    with django_capture_on_commit_callbacks(execute=True):
        post(client, stripe_event("invoice.payment_failed", stripe_invoice(), id="evt_failed"))
    paid = stripe_invoice(status="paid", amount_paid=125000, amount_remaining=0)
    with django_capture_on_commit_callbacks(execute=True):
        charged = post(client, stripe_event("invoice.payment_succeeded", paid, id="evt_charged"))
    with django_capture_on_commit_callbacks(execute=True):
        told = post(client, stripe_event("invoice.paid", paid, id="evt_told"))

    assert charged.json() == {"id": "evt_charged", "event_type": "payment.succeeded", "stored": True,
                              "also": [{"id": "evt_paid_in_1", "event_type": "invoice.paid", "stored": True}]}
    assert told.json() == {"id": "evt_paid_in_1", "event_type": "invoice.paid", "stored": False}
    assert Event.objects.filter(type="invoice.paid").count() == 1
    run = Execution.objects.get(automation=dunning)
    assert run.status == "canceled" and "invoice.paid" in run.status_reason


def test_a_charge_that_pays_part_of_an_invoice_is_a_payment_not_the_invoice_paid(client):
    part = stripe_invoice(status="open", amount_paid=50000, amount_remaining=75000)
    response = post(client, stripe_event("invoice.payment_succeeded", part, id="evt_part"))
    assert response.json() == {"id": "evt_part", "event_type": "payment.succeeded", "stored": True}
    assert list(Event.objects.values_list("type", flat=True)) == ["payment.succeeded"]


def test_an_unmapped_type_is_acknowledged_and_counted_not_stored(client):
    for number in (1, 2):
        response = post(client, stripe_event("charge.refunded", {"id": "ch_1"}, id=f"evt_r{number}"))
        assert response.status_code == 200 and response.json() == {"id": f"evt_r{number}", "event_type": None,
                                                                   "stored": False}
    post(client, stripe_event("customer.subscription.created", stripe_subscription(status="incomplete")))

    assert not Event.objects.exists()
    assert {row.stripe_type: (row.count, row.last_event_id) for row in SkippedStripeEvent.objects.all()} == {
        "charge.refunded": (2, "evt_r2"), "customer.subscription.created": (1, "evt_1")}


def test_an_older_payment_failure_arriving_after_the_payment_does_not_make_the_invoice_unpaid_again(client):
    paid_at = now()
    paid = stripe_invoice(status="paid", amount_due=125000, amount_paid=125000, amount_remaining=0)
    post(client, stripe_event("invoice.paid", paid, id="evt_paid", created=paid_at))
    late = post(client, stripe_event("invoice.payment_failed", stripe_invoice(), id="evt_failed",
                                     created=paid_at - timedelta(minutes=5)))

    assert late.status_code == 200 and late.json()["stored"] is True  # stored: it happened
    invoice = Invoice.objects.get(pk="in_1")
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("1250.00"))


# --- the mapping -------------------------------------------------------------------------------------

def _trial(created: datetime) -> dict[str, Any]:
    return stripe_subscription(status="trialing", trial_end=seconds(created + timedelta(days=3)))


ENDED = datetime(2026, 11, 21, tzinfo=timezone.utc)
MAPPED = {
    "invoice.finalized": (stripe_invoice, {}, "invoice.issued", {"invoice": {"status": "open", "total": "1250.00"}}),
    "invoice.paid": (stripe_invoice, {"status": "paid", "amount_paid": 125000, "amount_due": 125000},
                     "invoice.paid", {"invoice": {"status": "paid"}, "payment": {"status": "succeeded"}}),
    "invoice.payment_failed": (stripe_invoice, {"attempt_count": 2, "charge": None, "payment_intent": {
        "id": "pi_1", "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds",
                                             "message": "Your card has insufficient funds.",
                                             "payment_method": {"id": "pm_1"}}}},
        "payment.failed", {"payment": {"id": "pi_1_2", "attempt_number": 2, "failure_code": "insufficient_funds",
                                       "failure_message": "Your card has insufficient funds.",
                                       "payment_method": "pm_1"}}),
    "invoice.payment_succeeded": (stripe_invoice, {"status": "paid", "amount_paid": 125000}, "payment.succeeded",
                                  {"payment": {"id": "ch_1", "status": "succeeded", "amount": "1250.00"}}),
    "invoice.voided": (stripe_invoice, {"status": "void"}, "invoice.voided", {"invoice": {"status": "void"}}),
    "invoice.overdue": (stripe_invoice, {"due_date": seconds(datetime(2026, 11, 1, tzinfo=timezone.utc))},
                        "invoice.overdue", {"invoice": {"due_date": "2026-11-01"}}),
    "customer.created": (lambda **f: {"id": "cus_1", "email": "ada@example.com", "name": "Ada", "currency": "eur",
                                      "invoice_settings": {"default_payment_method": "pm_1"}, **f}, {},
                         "customer.created", {"customer": {"currency": "EUR", "default_payment_method": "pm_1"}}),
    "customer.subscription.created": (stripe_subscription, {}, "subscription.activated",
                                      {"subscription": {"status": "active", "plan": "pro-monthly"}}),
    "customer.subscription.deleted": (stripe_subscription, {"status": "canceled", "ended_at": seconds(ENDED)},
                                      "subscription.canceled",
                                      {"subscription": {"status": "canceled", "cancel_at": "2026-11-21T00:00:00Z"}}),
}


@pytest.mark.parametrize("stripe_type", sorted(MAPPED))
def test_each_mapped_type_is_stored_as_its_catalogue_event_with_its_payload(client, stripe_type):
    build, fields, event_type, expected = MAPPED[stripe_type]
    assert post(client, stripe_event(stripe_type, build(**fields), id="evt_m")).status_code == 200

    event = Event.objects.get(type=event_type)
    assert event_type == next(mapping.event_type for mapping in MAPPINGS if mapping.stripe_type == stripe_type)
    for root, values in expected.items():
        assert {name: event.data[root].get(name) for name in values} == values, root


def test_the_table_documents_every_type_it_maps():
    assert set(MAPPED) | {"customer.subscription.updated", "customer.subscription.trial_will_end"} == MAPPED_TYPES
    assert all(mapping.description.endswith(".") for mapping in MAPPINGS)


@pytest.mark.parametrize(("currency", "cents", "amount"), [
    ("usd", 125050, "1250.50"), ("jpy", 1250, "1250"), ("kwd", 1250, "1.250"), ("eur", 0, "0.00"),
])
def test_amounts_are_in_currency_units_whatever_the_currency(currency, cents, amount):
    [mapped] = map_event(stripe_event("invoice.finalized", stripe_invoice(currency=currency, total=cents)))
    assert (mapped.data["invoice"]["total"], mapped.data["invoice"]["currency"]) == (amount, currency.upper())


def test_times_are_aware_and_from_stripes_own_clock():
    created = now() - timedelta(days=2)
    [mapped] = map_event(stripe_event("invoice.finalized", stripe_invoice(), created=created))
    assert mapped.occurred_at == created.replace(microsecond=0) and mapped.occurred_at.tzinfo is not None
    assert mapped.data["invoice"]["issued_at"] == now().replace(microsecond=0).isoformat().replace("+00:00", "Z")


def test_a_subscription_becomes_active_once_its_first_payment_is_made(client):
    paid = stripe_event("customer.subscription.updated", stripe_subscription(), id="evt_u1",
                        previous_attributes={"status": "incomplete"})
    renamed = stripe_event("customer.subscription.updated", stripe_subscription(), id="evt_u2",
                           previous_attributes={"metadata": {}})
    post(client, paid)
    post(client, renamed)

    assert list(Event.objects.values_list("id", "type")) == [("evt_u1", "subscription.activated")]
    assert SkippedStripeEvent.objects.get().stripe_type == "customer.subscription.updated"
    assert Subscription.objects.get(pk="sub_1").status == "active"


def test_a_trial_ending_is_the_ending_soon_event_the_daily_scan_emits_stored_once(client, engine):
    from automations import services
    from automations.models import Execution

    automation = services.create_automation({
        "name": "Trial ends in 3 days",
        "trigger": {"type": "event", "event": "subscription.ending_soon", "days_before": 3},
        "steps": [{"key": "mail", "type": "action", "action": "send_email", "config": {
            "to": "ops@example.com", "subject": "Trial of {{ subscription.id }} ends", "body": "Soon."}}]})
    services.activate(automation)
    trial = _trial(now())
    post(client, stripe_event("customer.subscription.created", trial, id="evt_sub"))
    engine.tick()  # the daily scan sees the trial end in 3 days
    response = engine.run(post, client, stripe_event("customer.subscription.trial_will_end", trial, id="evt_trial"))

    assert response.status_code == 200 and response.json() == {
        "id": f"evt_ending_soon_sub_1_{now() + timedelta(days=3):%Y%m%d}_3", "event_type": "subscription.ending_soon",
        "stored": False}
    assert Event.objects.filter(type="subscription.ending_soon").count() == 1
    assert Execution.objects.filter(automation=automation).count() == 1


# --- system checks -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("secrets", "expected"), [
    ([SECRET], []),
    ([], ["billing_events.E011"]),
    ("whsec_one", ["billing_events.E010"]),
    ([SECRET, ""], ["billing_events.E010"]),
])
def test_the_checks_say_when_the_included_webhook_cannot_verify(settings, secrets, expected):
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "STRIPE_WEBHOOK_SECRETS": secrets}
    assert sorted(message.id for message in run_checks(tags=["billing_events"])) == expected


@pytest.mark.urls("config.urls")
def test_without_the_webhook_included_empty_secrets_are_fine(settings):
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "STRIPE_WEBHOOK_SECRETS": []}
    assert run_checks(tags=["billing_events"]) == []


# --- the table, served -------------------------------------------------------------------------------

def test_the_api_serves_the_mapping_table_and_documents_it(django_user_model):
    from tests.automations.api.conftest import token_client

    api = token_client(django_user_model.objects.create_user("dev", "dev@example.com", "pw"))
    body = api.get("/api/stripe-events/").json()
    served = {row["stripe_type"]: row for row in body["results"]}
    assert body["count"] == len(MAPPINGS)
    assert served["invoice.payment_failed"] == {
        "stripe_type": "invoice.payment_failed", "event_type": "payment.failed",
        "description": next(mapping.description for mapping in MAPPINGS
                            if mapping.stripe_type == "invoice.payment_failed")}
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    listed = schema["paths"]["/api/stripe-events/"]["get"]["responses"]["200"]["content"]["application/json"]
    page = schema["components"]["schemas"][listed["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert "StripeEventMapping" in page["properties"]["results"]["items"]["$ref"]
