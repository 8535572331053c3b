"""A host that already receives Stripe's webhooks with dj-stripe: the test settings with ``djstripe``
installed and its URLs included, and no endpoint of the connector's own."""
from config.test_settings import *  # noqa: F403
from config.test_settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "djstripe"]
ROOT_URLCONF = "tests.djstripe_host.urls"

STRIPE_LIVE_MODE = False
STRIPE_TEST_SECRET_KEY = "sk_test_localstripe0000000000000000"  # tests.fixtures.localstripe.API_KEY
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
