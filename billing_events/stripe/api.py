"""Calls to Stripe's API: one client per key and address, temporary failures retried with backoff
inside a time budget, and Stripe's errors turned into the gateway's ``GatewayError``."""
from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import stripe

from billing_events.conf import app_settings
from billing_events.gateway.base import GatewayError

T = TypeVar("T")

#: How long one gateway call may keep retrying a rate limit, a 5xx or a lost connection; with
#: one request's timeout, within an action attempt's time (AUTOMATIONS["ACTION_TIMEOUT_SECONDS"]).
BUDGET_SECONDS = 15.0
#: How long one request to Stripe may take (connect and read).
REQUEST_TIMEOUT_SECONDS = 10.0
#: The first wait between attempts; each next one doubles, up to ``MAX_WAIT_SECONDS``.
FIRST_WAIT_SECONDS = 0.25
MAX_WAIT_SECONDS = 4.0
#: The prefix of the Idempotency-Key sent for an operation key: it keeps the apps' keys apart
#: from any other integration's keys on the same Stripe account.
IDEMPOTENCY_PREFIX = "billing-automations:"


@lru_cache(maxsize=4)
def _client(api_key: str, base: str | None) -> stripe.StripeClient:
    # The client's own retries are off: ``call`` retries within the step's budget, with the same
    # Idempotency-Key, so a retried write is still acted on once.
    return stripe.StripeClient(api_key, base_addresses={"api": base} if base else None, max_network_retries=0,
                               http_client=stripe.RequestsClient(timeout=REQUEST_TIMEOUT_SECONDS))


def client() -> stripe.StripeClient:
    """The client for the configured ``STRIPE_API_KEY`` (and ``STRIPE_API_BASE``, if set)."""
    api_key = app_settings.STRIPE_API_KEY
    if not api_key:
        raise GatewayError("BILLING_EVENTS['STRIPE_API_KEY'] is not set", code="stripe_not_configured")
    return _client(api_key, app_settings.STRIPE_API_BASE or None)


def v1() -> Any:
    """The client's services of Stripe's v1 API (``client.v1`` since the library grouped them
    there; the client itself before)."""
    configured = client()
    return getattr(configured, "v1", configured)


def idempotency_key(operation_key: str) -> str:
    """The Idempotency-Key Stripe gets for a step's operation key (Stripe allows 255 characters)."""
    return (IDEMPOTENCY_PREFIX + operation_key)[:255]


def options(operation_key: str | None) -> dict[str, Any]:
    """Request options: the Idempotency-Key of a write, nothing for a read."""
    return {"idempotency_key": idempotency_key(operation_key)} if operation_key else {}


def error_body(exc: stripe.StripeError) -> dict[str, Any]:
    """Stripe's ``error`` object of a failed request (empty when the answer had none)."""
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def _temporary(exc: stripe.StripeError) -> bool:
    status = exc.http_status or 0
    return (isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError)) or status == 429
            or status >= 500 or status == 409)  # 409: a request with the same key is still running


def as_gateway_error(exc: stripe.StripeError) -> GatewayError:
    """A Stripe error as a step failure naming Stripe's message; temporary ones retryable."""
    error = error_body(exc)
    message = error.get("message") or exc.user_message or str(exc) or type(exc).__name__
    code = (error.get("code") or exc.code or ("resource_missing" if exc.http_status == 404 else "")
            or ("stripe_unavailable" if _temporary(exc) else "stripe_error"))
    status = f" (HTTP {exc.http_status})" if exc.http_status else ""
    return GatewayError(f"Stripe: {message}{status}", code=str(code), retryable=_temporary(exc))


def call(request: Callable[[], T], *, budget: float | None = None, sleep: Callable[[float], None] = time.sleep) -> T:
    """``request()``, retried after a rate limit, a 5xx, a conflict or a lost connection with
    growing waits until ``budget`` seconds have passed (then a retryable ``GatewayError``). A card
    error is re-raised for the caller to read its decline; any other 4xx is a ``GatewayError``."""
    deadline = time.monotonic() + (BUDGET_SECONDS if budget is None else budget)
    wait = FIRST_WAIT_SECONDS
    while True:
        try:
            return request()
        except stripe.CardError:
            raise
        except stripe.StripeError as exc:
            if not _temporary(exc):
                raise as_gateway_error(exc) from exc
            if time.monotonic() + wait > deadline:
                raise as_gateway_error(exc) from exc
            sleep(wait)
            wait = min(wait * 2, MAX_WAIT_SECONDS)


def is_missing(exc: GatewayError) -> bool:
    """True when Stripe answered that the object does not exist."""
    return exc.code == "resource_missing"
