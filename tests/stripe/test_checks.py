"""The Stripe gateway's system checks: an API key it cannot do without (always), and whether Stripe's
API answers to it (``check --deploy`` only, as it makes a request)."""
from __future__ import annotations

import socket

import pytest
from django.core.checks import run_checks

from tests.fixtures.localstripe import API_KEY

GATEWAY = "billing_events.stripe.gateway.StripeGateway"


def _ids(include_deployment_checks: bool = False) -> list[str]:
    return sorted(message.id for message in run_checks(tags=["billing_events"],
                                                       include_deployment_checks=include_deployment_checks))


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again: nothing listens there


@pytest.mark.parametrize("key", [None, "", "  "])
def test_the_stripe_gateway_without_an_api_key_is_an_error(settings, key):
    settings.BILLING_EVENTS = {"BILLING_GATEWAY": GATEWAY, "STRIPE_API_KEY": key}
    [message] = run_checks(tags=["billing_events"])
    assert message.id == "billing_events.E013"
    assert "BILLING_EVENTS['STRIPE_API_KEY']" in message.msg


def test_another_gateway_needs_no_stripe_key(settings):
    settings.BILLING_EVENTS = {"BILLING_GATEWAY": "billing_events.gateway.reference.ReferenceGateway"}
    assert _ids(include_deployment_checks=True) == []


def test_deploy_checks_find_stripe_answering(localstripe, settings):
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "BILLING_GATEWAY": GATEWAY}
    assert _ids(include_deployment_checks=True) == []


def test_deploy_checks_warn_when_stripe_cannot_be_reached(settings):
    base = f"http://127.0.0.1:{_unused_port()}"
    settings.BILLING_EVENTS = {"BILLING_GATEWAY": GATEWAY, "STRIPE_API_KEY": API_KEY, "STRIPE_API_BASE": base}
    assert _ids() == []  # a plain check makes no request
    [message] = run_checks(tags=["billing_events"], include_deployment_checks=True)
    assert message.id == "billing_events.W010"
    assert message.msg.startswith(f"{base} cannot be reached: Stripe: ")
    assert "BILLING_EVENTS['STRIPE_API_BASE']" in message.hint


def test_deploy_checks_warn_when_stripe_refuses_the_key(localstripe, settings):
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "BILLING_GATEWAY": GATEWAY,
                               "STRIPE_API_KEY": "pk_test_not_secret"}  # a publishable key: no API access
    [message] = run_checks(tags=["billing_events"], include_deployment_checks=True)
    assert message.id == "billing_events.W010"
    assert "refused BILLING_EVENTS['STRIPE_API_KEY']" in message.msg, message.msg
    assert "BILLING_EVENTS['STRIPE_API_KEY']" in message.hint
