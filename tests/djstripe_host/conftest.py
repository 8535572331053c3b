"""The dj-stripe host's tests run against localstripe on loopback, on the machine's clock (localstripe
signs with it)."""
from tests.fixtures.localstripe import localstripe, localstripe_server  # noqa: F401
from tests.stripe.test_webhooks_localstripe import machine_time  # noqa: F401
