"""The library's dunning, run by the engine with the Stripe gateway against localstripe: its retry
pays the invoice at Stripe, once."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from automations import clock, services
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


@pytest.mark.parametrize("card", [PAYS, DECLINES], ids=["pays", "declines"])
def test_test_mode_takes_the_way_the_live_dunning_then_takes_at_stripe(client, dunning, engine, card):
    """The operator tests the dunning on the invoice's own data before it runs: test mode predicts
    the retry from the customer's card at Stripe, and the live run then takes the same steps."""
    customer_id, invoice_id = _open_invoice(client, card)
    data = _payment_failed(customer_id, invoice_id)
    tested = services.test_run(dunning, data)
    test_steps = [(entry["step"], "failed" if "error" in entry else "succeeded") for entry in tested["timeline"]
                  if not entry.get("deferred")]

    engine.emit("payment.failed", data, id="evt_1")
    execution = Execution.objects.get()
    while execution.status == "waiting" and execution.wake_at is not None:
        clock.set_now(execution.wake_at)
        engine.tick()
        execution.refresh_from_db()
    live_steps = [(row.step_key, row.status) for row in execution.step_runs.order_by("pk")]
    assert test_steps == live_steps
    assert tested["status"] == execution.status
    [tested_retry] = [entry.get("output") or entry["would"] for entry in tested["timeline"] if entry["step"] == "retry"]
    assert "assumed" not in tested_retry, "predicted from the card, not assumed"
    assert tested_retry["status"] == execution.outputs["retry"]["status"] == (
        "succeeded" if card == PAYS else "failed")
