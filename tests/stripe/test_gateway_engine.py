"""The library's dunning, run by the engine with the Stripe gateway against localstripe: its retry
pays the invoice at Stripe, once."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from automations.models import Execution
from billing_events.gateway import configured_gateway
from tests.conftest import sample
from tests.stripe.test_gateway import DECLINES, PAYS, _card, _charges, _open_invoice, stripe_api

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(localstripe, settings) -> Iterator[Any]:
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "BILLING_GATEWAY": "billing_events.stripe.gateway.StripeGateway"}
    configured_gateway.cache_clear()
    yield stripe_api(localstripe.url)
    configured_gateway.cache_clear()


def _payment_failed(customer_id: str, invoice_id: str) -> dict:
    return sample("payment.failed", customer={"id": customer_id}, invoice={"id": invoice_id, "customer_id": customer_id},
                  payment={"customer_id": customer_id, "invoice_id": invoice_id})


def test_the_dunning_retry_pays_the_invoice_at_stripe_once(client, dunning, engine):
    customer_id, invoice_id = _open_invoice(client, DECLINES)
    engine.emit("payment.failed", _payment_failed(customer_id, invoice_id), id="evt_1")
    _card(client, customer_id, PAYS)  # the customer puts in a card that pays
    charges_before = _charges(client, customer_id)

    engine.advance(days=3)
    execution = Execution.objects.get()
    assert execution.status == "succeeded" and execution.status_reason == "stopped at step recovered"
    assert execution.outputs["retry"]["status"] == "succeeded"
    assert client.invoices.retrieve(invoice_id).status == "paid"
    assert _charges(client, customer_id) == [*charges_before, "succeeded"]
