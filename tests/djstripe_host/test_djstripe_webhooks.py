"""A host that receives Stripe's webhooks with dj-stripe: Stripe's signed events go to dj-stripe's own
endpoint, dj-stripe verifies them and syncs its models, and its processed-webhook signal brings them
into the catalogue — runs start, with no endpoint and no signing secret of the connector's own.

dj-stripe syncs each object by reading it back from the API, here localstripe's. localstripe's
subscriptions are not shaped as dj-stripe 2.11 reads them (their items name no subscription), so
dj-stripe cannot process an invoice event from it; these tests go by customers, which it can.

Runs where dj-stripe is installed, with ``--ds=tests.djstripe_host.settings`` (CI has a leg for
it); skipped elsewhere."""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps

if not apps.is_installed("djstripe"):
    if os.environ.get("REQUIRE_DJSTRIPE"):
        raise RuntimeError("REQUIRE_DJSTRIPE=1 but djstripe is not installed: run with --ds=tests.djstripe_host.settings")
    pytest.skip("dj-stripe hosts: run with dj-stripe installed and --ds=tests.djstripe_host.settings",
                allow_module_level=True)

import stripe  # noqa: E402
from djstripe import models as djstripe_models  # noqa: E402
from djstripe.enums import WebhookEndpointValidation  # noqa: E402

from automations import clock, library, services  # noqa: E402
from automations.models import Execution  # noqa: E402
from billing_events.models import Event, SkippedStripeEvent  # noqa: E402
from tests.fixtures.localstripe import API_KEY, LocalStripe, WebhooksToLiveServer  # noqa: E402

SECRET = "whsec_djstripe"


@pytest.fixture
def welcome(db):
    """The library's welcome series, which starts on customer.created."""
    automation = library.instantiate("welcome_series")
    services.activate(automation)
    return automation


@pytest.fixture
def endpoint(db, localstripe: LocalStripe, monkeypatch) -> djstripe_models.WebhookEndpoint:
    """dj-stripe set up as a host has it: its account and API key known (as its admin or
    ``djstripe_sync_models`` leave them; localstripe has no account to retrieve), a webhook endpoint
    that verifies signatures with its secret, and dj-stripe's own Stripe calls going to localstripe."""
    monkeypatch.setattr(stripe, "api_base", localstripe.url)
    account = djstripe_models.Account.objects.create(id="acct_localstripe", livemode=False)
    djstripe_models.APIKey.objects.create(secret=API_KEY, type="secret", livemode=False,
                                          djstripe_owner_account=account)
    return djstripe_models.WebhookEndpoint.objects.create(
        id="we_localstripe", livemode=False, url="https://billing.example.com/", secret=SECRET, api_version="",
        enabled_events=["*"], djstripe_uuid=uuid.uuid4(), djstripe_owner_account=account,
        djstripe_validation_method=WebhookEndpointValidation.verify_signature)


def _path(endpoint: djstripe_models.WebhookEndpoint) -> str:
    return f"/djstripe/webhook/{endpoint.djstripe_uuid}/"


@pytest.fixture
def djstripe_webhooks(endpoint, localstripe, live_server) -> Iterator[WebhooksToLiveServer]:
    webhooks = WebhooksToLiveServer(localstripe, live_server, path=_path(endpoint))
    yield webhooks
    webhooks.stop()


def _client(localstripe: LocalStripe) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.url})


def test_a_customer_created_in_stripe_reaches_the_welcome_series_through_djstripe(
        localstripe, djstripe_webhooks, endpoint, welcome, settings, machine_time):
    assert not settings.BILLING_EVENTS.get("STRIPE_WEBHOOK_SECRETS"), "no secret of the connector's own"
    djstripe_webhooks.send(SECRET, ["customer.created"])

    customer = _client(localstripe).v1.customers.create(params={"email": "ada@example.com", "name": "Ada"})
    execution = djstripe_webhooks.eventually(lambda: Execution.objects.filter(automation=welcome).first())

    [event] = Event.objects.all()
    assert event.type == "customer.created" and event.data["customer"]["id"] == customer.id
    assert event.data["customer"]["email"] == "ada@example.com"
    assert execution.event_id == event.id
    # (localstripe may also post the customers of earlier tests, which dj-stripe can no longer read)
    [delivery] = [delivery for delivery in djstripe_models.WebhookEventTrigger.objects.filter(webhook_endpoint=endpoint)
                  if delivery.json_body["data"]["object"]["id"] == customer.id]
    assert (delivery.valid, delivery.processed, delivery.exception) == (True, True, "")
    assert event.id == delivery.json_body["id"], "stored under Stripe's id"
    assert djstripe_models.Customer.objects.filter(id=customer.id).exists(), "dj-stripe synced its own model too"


# --- deliveries signed here as Stripe signs them, posted to dj-stripe's endpoint ---------------------

def _customer_event(customer: Any, stripe_type: str = "customer.created", id: str = "evt_dj_1") -> dict[str, Any]:  # noqa: A002
    return {"id": id, "object": "event", "type": stripe_type, "created": int(clock.now().timestamp()),
            "data": {"object": json.loads(json.dumps(customer.to_dict()))}, "livemode": False,
            "api_version": "2024-06-20"}


def _deliver(client, endpoint, body: dict[str, Any], secret: str = SECRET):
    payload = json.dumps(body)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret)
    return client.post(_path(endpoint), payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


@pytest.fixture
def customer(localstripe):
    return _client(localstripe).v1.customers.create(params={"email": "bea@example.com", "name": "Bea"})


def test_a_redelivered_event_starts_one_run(client, endpoint, customer, welcome, machine_time,
                                           django_capture_on_commit_callbacks):
    body = _customer_event(customer)
    with django_capture_on_commit_callbacks(execute=True):
        assert _deliver(client, endpoint, body).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert _deliver(client, endpoint, body).status_code == 200

    assert [event.id for event in Event.objects.all()] == ["evt_dj_1"]
    assert Execution.objects.filter(automation=welcome).count() == 1
    assert djstripe_models.WebhookEventTrigger.objects.filter(processed=True).count() == 2


def test_a_delivery_djstripe_does_not_verify_stores_nothing(client, endpoint, customer, welcome, machine_time):
    response = _deliver(client, endpoint, _customer_event(customer), secret="whsec_someone_else")

    assert response.status_code == 400
    assert not Event.objects.exists() and not Execution.objects.exists()
    assert not djstripe_models.WebhookEventTrigger.objects.get().valid


def test_a_type_the_connector_does_not_map_is_counted_and_djstripe_still_processes_it(client, endpoint, customer,
                                                                                       machine_time):
    response = _deliver(client, endpoint, _customer_event(customer, "customer.updated", id="evt_dj_2"))

    assert response.status_code == 200
    assert not Event.objects.exists()
    skipped = SkippedStripeEvent.objects.get(stripe_type="customer.updated")
    assert (skipped.count, skipped.last_event_id) == (1, "evt_dj_2")
    assert djstripe_models.WebhookEventTrigger.objects.get().processed


def test_an_event_the_catalogue_refuses_rolls_djstripes_processing_back_so_stripe_retries(client, endpoint, customer,
                                                                                         machine_time):
    body = _customer_event(customer)
    body["data"]["object"]["email"] = "not an address"

    with pytest.raises(Exception, match="email"):  # dj-stripe re-raises: Django answers 500, Stripe retries
        _deliver(client, endpoint, body)

    assert not Event.objects.exists()
    delivery = djstripe_models.WebhookEventTrigger.objects.get()
    assert not delivery.processed and "email" in delivery.exception
    assert not djstripe_models.Event.objects.filter(id=body["id"]).exists(), "dj-stripe's processing rolled back"
