"""The "update your card" link an email carries (``customer.card_update_url``).

The billing system's page for it (Stripe's billing portal) lives minutes, and an email is read days
later: so the email carries a signed link to this site, and the page is made when the customer
follows it. The link names the customer and nothing else, is valid for ``LINK_DAYS`` and cannot be
changed to name another customer (it is signed with the site's secret key).
"""
from __future__ import annotations

from datetime import timedelta

from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from billing_events.conf import app_settings
from billing_events.gateway import get_gateway
from billing_events.gateway.base import BillingGateway, GatewayError

#: How long a link stays good: a reminder is acted on within days, a month covers the dunning.
LINK_DAYS = 30
_SALT = "billing_events.card_update"


def offers_card_update(gateway: BillingGateway) -> bool:
    """Whether ``gateway`` has a page where customers update their payment method."""
    return type(gateway).card_update_url is not BillingGateway.card_update_url


def card_update_link(customer_id: str) -> str | None:
    """The link for an email, or None when there is none to give: the billing system has no such
    page, or ``PUBLIC_URL`` (where customers reach this site) is not set."""
    base = app_settings.PUBLIC_URL
    if not base or not offers_card_update(get_gateway()):
        return None
    token = signing.dumps(str(customer_id), salt=_SALT, compress=True)
    return f"{base.rstrip('/')}{reverse('billing_events:card_update', args=[token])}"


def customer_of(token: str) -> str:
    """The customer a link names; ``signing.SignatureExpired`` or ``signing.BadSignature`` if it
    is too old or not one this site made."""
    return signing.loads(token, salt=_SALT, max_age=timedelta(days=LINK_DAYS))


def update_card(request: HttpRequest, token: str) -> HttpResponse:
    """Follow a link: on to the billing system's page for this customer, made now; else a page
    that says why not, in the customer's words."""
    try:
        customer_id = customer_of(token)
    except signing.SignatureExpired:
        return _page(request, 410, "This link has expired",
                     f"Links to update your card work for {LINK_DAYS} days. Reply to our email and we will send a new one.")
    except signing.BadSignature:
        return _page(request, 404, "This link does not work",
                     "Check that the whole link was copied from the email, or reply to it for a new one.")
    try:
        url = get_gateway().card_update_url(customer_id, return_url=app_settings.CARD_UPDATE_RETURN_URL)
    except GatewayError:
        return _page(request, 503, "Please try again in a few minutes",
                     "We could not open the page to update your card just now.")
    if not url:
        return _page(request, 404, "Card updates are not offered here", "Reply to our email and we will help.")
    return HttpResponseRedirect(url)


def _page(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    response = TemplateResponse(request, "billing_events/card_link.html", {"title": title, "text": text},
                                status=status)
    response["Cache-Control"] = "no-store"
    return response
