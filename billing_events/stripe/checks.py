"""System checks of the Stripe connector: the endpoint must have signing secrets to verify with and
the ``stripe`` library to verify them, once it is configured or its URL included."""
from __future__ import annotations

import importlib.util
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.urls import NoReverseMatch, reverse

from billing_events.conf import SETTING

URL_NAME = "billing_events_stripe:webhook"


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
