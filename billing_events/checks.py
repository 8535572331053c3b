"""System checks of the ``BILLING_EVENTS`` settings (``manage.py check``), read as configured so a
mistake is reported with the setting's name before an event meets it."""
from __future__ import annotations

from numbers import Real
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string

from billing_events.conf import DEFAULTS, SETTING
from billing_events.gateway.base import BillingGateway


@register("billing_events")
def check_billing_events_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Unknown keys, limits that are not positive numbers, a gateway that is not one."""
    configured = getattr(settings, SETTING, None) or {}
    if not isinstance(configured, dict):
        return [Error(f"{SETTING} must be a dict", id="billing_events.E001")]
    messages: list[CheckMessage] = [
        Warning(f"{SETTING}[{key!r}] is not a setting of billing_events",
                hint=f"Known settings: {', '.join(sorted(DEFAULTS))}", id="billing_events.W001")
        for key in sorted(set(configured) - set(DEFAULTS))]
    values = {**DEFAULTS, **configured}
    for key in ("EVENT_MAX_BYTES", "JSON_MAX_DEPTH"):
        value = values[key]
        if not isinstance(value, Real) or isinstance(value, bool) or value <= 0:
            messages.append(Error(f"{SETTING}[{key!r}] must be a positive number, not {value!r}",
                                  id="billing_events.E002"))
    path = values["BILLING_GATEWAY"]
    try:
        gateway = import_string(path) if isinstance(path, str) else path
    except (ImportError, TypeError, ValueError) as exc:
        messages.append(Error(f"{SETTING}['BILLING_GATEWAY'] = {path!r} cannot be imported: {exc}",
                              id="billing_events.E003"))
    else:
        if not (isinstance(gateway, type) and issubclass(gateway, BillingGateway)):
            messages.append(Error(f"{SETTING}['BILLING_GATEWAY'] = {path!r} is not a subclass of "
                                  f"billing_events.gateway.base.BillingGateway", id="billing_events.E003"))
    return messages


@register("billing_events")
def check_public_addresses(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """PUBLIC_URL and CARD_UPDATE_RETURN_URL go into emails and redirects: absolute web addresses."""
    configured = getattr(settings, SETTING, None) or {}
    if not isinstance(configured, dict):
        return []  # E001 says so
    return [Error(f"{SETTING}[{key!r}] = {value!r} is not an absolute http(s) address",
                  hint="Write it as customers reach it, such as https://billing.example.com",
                  id="billing_events.E014")
            for key in ("PUBLIC_URL", "CARD_UPDATE_RETURN_URL")
            if (value := configured.get(key)) is not None and not _absolute_web_address(value)]


def _absolute_web_address(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)

