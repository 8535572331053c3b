"""The ``BILLING_EVENTS`` settings (the gateway and the limits of an event payload), read lazily
with defaults and reloaded when tests change them; and the settings reader both apps use (the
automations app has its own ``AUTOMATIONS`` dict, in ``automations.conf``).
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

#: The dict of billing_events' settings.
SETTING = "BILLING_EVENTS"
DEFAULTS: dict[str, Any] = {
    "BILLING_GATEWAY": "billing_events.gateway.reference.ReferenceGateway",
    # Event payloads (emit() and POST events/) are refused beyond this size as compact JSON, and
    # any JSON input (payloads, definitions) beyond this depth of nested objects and arrays.
    "EVENT_MAX_BYTES": 256 * 1024,
    "JSON_MAX_DEPTH": 32,
    # The Stripe connector (billing_events.stripe; pip install ".[stripe]"): the secret API key the
    # StripeGateway calls Stripe with, the API's address (Stripe's own unless a test points it at
    # a local fake), and the webhook signing secrets the endpoint accepts (several during a rotation).
    "STRIPE_API_KEY": None,
    "STRIPE_API_BASE": None,
    "STRIPE_WEBHOOK_SECRETS": [],
    # Where customers reach this site (https://billing.example.com): the links emails carry to pages
    # it serves, such as "update your card" (customer.card_update_url), start with it. Unset: no
    # such links. CARD_UPDATE_RETURN_URL is where the billing system's page sends them back (unset:
    # its own default).
    "PUBLIC_URL": None,
    "CARD_UPDATE_RETURN_URL": None,
}
IMPORT_STRINGS = {"BILLING_GATEWAY"}


class AppSettings:
    """Attribute access to ``settings.<setting>[...]`` with ``defaults``; dotted paths in
    ``import_strings`` imported."""

    def __init__(self, setting: str, defaults: dict[str, Any], import_strings: set[str]) -> None:
        self.setting = setting
        self.defaults = defaults
        self.import_strings = import_strings
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self.defaults:
            raise AttributeError(f"Unknown {self.setting} setting: {name!r}")
        if name not in self._cache:
            value = (getattr(settings, self.setting, None) or {}).get(name, self.defaults[name])
            if name in self.import_strings and isinstance(value, str):
                try:
                    value = import_string(value)
                except ImportError as exc:
                    raise ImportError(f"{self.setting}[{name!r}] = {value!r} cannot be imported: {exc}") from exc
            self._cache[name] = value
        return self._cache[name]

    def reload(self) -> None:
        self._cache.clear()


app_settings = AppSettings(SETTING, DEFAULTS, IMPORT_STRINGS)


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING:
        app_settings.reload()


setting_changed.connect(_reload)
