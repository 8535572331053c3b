"""The billing gateway: the apps' only door to billing data, chosen by ``BILLING_EVENTS["BILLING_GATEWAY"]``."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from django.core.signals import setting_changed

from billing_events.conf import SETTING, app_settings
from billing_events.gateway.base import BillingGateway

_override: ContextVar[BillingGateway | None] = ContextVar("billing_gateway_override", default=None)


def get_gateway() -> BillingGateway:
    """The gateway to use now: the configured one, unless a block runs with another (test mode
    that reads only its own data)."""
    return _override.get() or configured_gateway()


@contextmanager
def gateway_override(gateway: BillingGateway) -> Iterator[None]:
    """Run a block with ``gateway`` instead of the configured one (this thread or task only)."""
    token = _override.set(gateway)
    try:
        yield
    finally:
        _override.reset(token)


@lru_cache(maxsize=1)
def configured_gateway() -> BillingGateway:
    """The configured gateway instance (one per process; reset when the setting changes)."""
    gateway_class = app_settings.BILLING_GATEWAY
    gateway = gateway_class()
    if not isinstance(gateway, BillingGateway):
        raise TypeError(f"BILLING_EVENTS['BILLING_GATEWAY'] must subclass BillingGateway, got {gateway_class!r}")
    return gateway


def _forget_gateway(*, setting: str, **kwargs: object) -> None:
    if setting == SETTING:
        configured_gateway.cache_clear()


setting_changed.connect(_forget_gateway)

__all__ = ["BillingGateway", "configured_gateway", "gateway_override", "get_gateway"]
