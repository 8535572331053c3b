"""The "update your card" link an email carries: signed, for one customer, good for 30 days; followed,
it makes a billing-portal session at Stripe (the OpenAPI-checked stub) and goes on to it."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from automations import library
from automations.models import EmailTemplate
from automations.scope import with_card_update_link
from automations.templating import render
from billing_events.card_links import LINK_DAYS, card_update_link
from billing_events.gateway import configured_gateway
from tests.stripe.test_gateway_stub import stub  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
LINK = re.compile(r"^https://billing\.example\.com/billing/card/(?P<token>[^/]+)/$")


@pytest.fixture
def stripe_with_portal(stub, settings):  # noqa: F811 (the fixture above)
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "BILLING_GATEWAY": "billing_events.stripe.gateway.StripeGateway",
                               "PUBLIC_URL": "https://billing.example.com/",
                               "CARD_UPDATE_RETURN_URL": "https://example.com/account"}
    configured_gateway.cache_clear()
    yield stub
    configured_gateway.cache_clear()


def _path(link: str) -> str:
    return link.removeprefix("https://billing.example.com")


def test_the_link_opens_a_portal_session_for_that_customer_made_when_followed(stripe_with_portal, client, http_server):
    link = card_update_link("cus_1")
    assert LINK.match(link)
    assert not [r for r in http_server.requests if r.path.startswith("/v1/billing_portal")], "nothing made yet"

    answer = client.get(_path(link))

    assert answer.status_code == 302 and answer["Location"] == "https://billing.stripe.com/p/session/test_1"
    [made] = [r for r in http_server.requests if r.path.startswith("/v1/billing_portal")]
    assert made.body == b"customer=cus_1&return_url=https%3A%2F%2Fexample.com%2Faccount"


def test_a_changed_link_does_not_open_anything(stripe_with_portal, client, http_server):
    token = LINK.match(card_update_link("cus_1"))["token"]
    answer = client.get(f"/billing/card/{token[:-2]}xy/")
    assert answer.status_code == 404 and "This link does not work" in answer.content.decode()
    assert not [r for r in http_server.requests if r.path.startswith("/v1/billing_portal")]


def test_a_link_older_than_its_days_has_expired(stripe_with_portal, client):
    link = card_update_link("cus_1")
    with time_machine.travel(timezone.now() + timedelta(days=LINK_DAYS, minutes=1)):
        answer = client.get(_path(link))
    assert answer.status_code == 410 and "This link has expired" in answer.content.decode()
    with time_machine.travel(timezone.now() + timedelta(days=LINK_DAYS - 1)):
        assert client.get(_path(link)).status_code == 302


def test_without_a_portal_or_a_public_address_there_is_no_link(settings, stripe_with_portal):
    assert card_update_link("cus_1")
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "PUBLIC_URL": None}
    assert card_update_link("cus_1") is None
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "PUBLIC_URL": "https://billing.example.com",
                               "BILLING_GATEWAY": "billing_events.gateway.reference.ReferenceGateway"}
    configured_gateway.cache_clear()
    assert card_update_link("cus_1") is None, "the reference billing system has no page for it"
    assert "card_update_url" not in with_card_update_link({"id": "cus_1"})


@pytest.mark.parametrize("portal", [True, False])
def test_the_dunnings_update_your_card_email_links_to_the_portal_where_there_is_one(settings, stripe_with_portal,
                                                                                     portal):
    library.instantiate("payment_dunning")
    if not portal:
        settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "PUBLIC_URL": None}
    template = EmailTemplate.objects.get(key="payment_update_card")
    variables = {"customer": with_card_update_link({"id": "cus_1", "name": "Ada"}), "steps": {},
                 "invoice": {"number": "INV-1", "amount_due": "50.00", "currency": "USD",
                             "payment_url": "https://invoice.stripe.com/i/acct_1/test_in_1"}}

    text, html = render(template.body_text, variables), render(template.body_html, variables, html=True)

    if portal:
        assert re.search(r"Update your card here: https://billing\.example\.com/billing/card/[^/\s]+/\n", text)
        assert "Or pay this invoice with another card: https://invoice.stripe.com/i/acct_1/test_in_1" in text
        assert '<a href="https://billing.example.com/billing/card/' in html
    else:
        assert "update your payment method here: https://invoice.stripe.com/i/acct_1/test_in_1" in text
        assert "billing/card" not in text + html
