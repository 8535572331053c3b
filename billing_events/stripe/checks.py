"""System checks of the Stripe connector: the endpoint must have signing secrets to verify with and
the ``stripe`` library to verify them, once it is configured or its URL included; the Stripe gateway
needs an API key, and ``check --deploy`` asks Stripe's API once whether it answers to that key."""
from __future__ import annotations

import importlib.util
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from billing_events.conf import SETTING

URL_NAME = "billing_events_stripe:webhook"
GATEWAY = "billing_events.stripe.gateway.StripeGateway"
#: How long ``check --deploy`` waits for Stripe's API (connect and read).
REACH_TIMEOUT_SECONDS = 5.0


def _webhook_included() -> bool:
    try:
        reverse(URL_NAME)
    except NoReverseMatch:
        return False
    return True


@register("billing_events")
def check_stripe_webhook(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Secrets that are a list of non-empty strings, and some when the webhook's URL is included."""
    configured = getattr(settings, SETTING, None)
    configured = configured if isinstance(configured, dict) else {}
    secrets = configured.get("STRIPE_WEBHOOK_SECRETS", [])
    name = f"{SETTING}['STRIPE_WEBHOOK_SECRETS']"
    if not isinstance(secrets, (list, tuple)) or not all(isinstance(s, str) and s.strip() for s in secrets):
        return [Error(f"{name} must be a list of signing secrets (strings such as 'whsec_...'), not {secrets!r}",
                      id="billing_events.E010")]
    if not (secrets or "STRIPE_API_KEY" in configured or _webhook_included()):
        return []  # the connector is not used
    messages: list[CheckMessage] = []
    if _webhook_included() and not secrets:
        messages.append(Error(f"The Stripe webhook's URL is included but {name} is empty: it refuses every event",
                              hint="Add the endpoint's signing secret (whsec_...) from Stripe's dashboard.",
                              id="billing_events.E011"))
    if importlib.util.find_spec("stripe") is None:
        messages.append(Error("The Stripe connector is configured but the stripe library is not installed",
                              hint='pip install "billing-automations[stripe]"', id="billing_events.E012"))
    return messages


def _configured() -> dict[str, Any]:
    configured = getattr(settings, SETTING, None)
    return configured if isinstance(configured, dict) else {}


def _uses_stripe_gateway(configured: dict[str, Any]) -> bool:
    """True when ``BILLING_GATEWAY`` is the Stripe gateway (or a subclass of it)."""
    path = configured.get("BILLING_GATEWAY")
    if path == GATEWAY:
        return True
    if importlib.util.find_spec("stripe") is None:
        return False
    try:
        gateway = import_string(path) if isinstance(path, str) else path
    except (ImportError, TypeError, ValueError):
        return False  # billing_events.E003 says so
    from billing_events.stripe.gateway import StripeGateway  # the stripe extra: imported once it is there

    return isinstance(gateway, type) and issubclass(gateway, StripeGateway)


@register("billing_events")
def check_stripe_gateway(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The Stripe gateway with no API key: every read and operation of a run would fail."""
    configured = _configured()
    if not _uses_stripe_gateway(configured):
        return []
    key = configured.get("STRIPE_API_KEY")
    if isinstance(key, str) and key.strip():
        return []
    return [Error(f"{SETTING}['BILLING_GATEWAY'] is the Stripe gateway but {SETTING}['STRIPE_API_KEY'] is "
                  f"{'not set' if key is None else repr(key)}: every run would fail at its first read",
                  hint="Set it to the account's secret key (sk_live_... or sk_test_...) or a restricted key.",
                  id="billing_events.E013")]


@register("billing_events", deploy=True)
def check_stripe_reachable(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy`` only, as it calls Stripe: one request (the first customer) with a short
    timeout, to say before the first run whether Stripe's API answers to the configured key."""
    configured = _configured()
    key = configured.get("STRIPE_API_KEY")
    if (not _uses_stripe_gateway(configured) or not isinstance(key, str) or not key.strip()
            or importlib.util.find_spec("stripe") is None):
        return []  # E013 or E012 says what is missing
    import stripe  # the stripe extra: E012 reports it missing, so this module must import without it

    from billing_events.stripe import api  # imports stripe, as above

    base = configured.get("STRIPE_API_BASE") or None
    client = stripe.StripeClient(key, base_addresses={"api": base} if base else None, max_network_retries=0,
                                 http_client=stripe.RequestsClient(timeout=REACH_TIMEOUT_SECONDS))
    try:
        getattr(client, "v1", client).customers.list(params={"limit": 1})
    except stripe.StripeError as exc:
        address = base or "Stripe's API (api.stripe.com)"
        key_setting, base_setting = f"{SETTING}['STRIPE_API_KEY']", f"{SETTING}['STRIPE_API_BASE']"
        if isinstance(exc, stripe.APIConnectionError):
            what = f"{address} cannot be reached"
            unset = "" if base else " (unset: Stripe's own address)"
            hint = f"Check {base_setting}{unset} and the network between this host and it"
        elif isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
            what = f"{address} refused {key_setting}"
            hint = f"Check {key_setting}: the account's secret key or a restricted key"
        else:
            what, hint = f"{address} did not answer a list of customers", f"Check {key_setting} and {base_setting}"
        return [Warning(f"{what}: {api.as_gateway_error(exc)}",
                        hint=f"{hint}; runs fail at their first read until Stripe answers.",
                        id="billing_events.W010")]
    return []
