"""The billing gateway: the apps' only door to billing data, chosen by ``AUTOMATIONS["BILLING_GATEWAY"]``."""
from __future__ import annotations

from functools import lru_cache

from billing_events.gateway.base import BillingGateway


@lru_cache(maxsize=1)
def get_gateway() -> BillingGateway:
    """The configured gateway instance (one per process; reset when the setting changes)."""
    from billing_events.conf import app_settings

    gateway_class = app_settings.BILLING_GATEWAY
    gateway = gateway_class()
    if not isinstance(gateway, BillingGateway):
        raise TypeError(f"AUTOMATIONS['BILLING_GATEWAY'] must subclass BillingGateway, got {gateway_class!r}")
    return gateway


__all__ = ["BillingGateway", "get_gateway"]
