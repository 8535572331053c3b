"""The Stripe connector's tests run against localstripe on loopback."""
from tests.fixtures.localstripe import localstripe, localstripe_server, stripe_webhooks  # noqa: F401
