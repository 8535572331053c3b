"""The demo against a fake Stripe (``manage.py demo --stripe``): localstripe, a stateful fake Stripe,
run as a process of its own on a loopback port (it is a GPL-3.0 test tool: started, never
imported), its webhooks signed and posted to the demo's endpoint, and a customer whose first
subscription payment fails there.
"""
from __future__ import annotations

import importlib.util
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import requests
from django.core.management.base import CommandError

#: localstripe accepts any secret key of test mode.
API_KEY = "sk_test_demo"
#: localstripe's IBAN whose SEPA debits fail a moment after they are made: localstripe reports such
#: a failure with invoice.payment_failed (a card declined on the spot only fails the API call).
FAILING_IBAN = "DE62370400440532013001"
#: The customer whose payment fails.
CUSTOMER = {"name": "Hooli", "email": "billing@hooli.example"}


@dataclass(frozen=True)
class FakeStripe:
    process: subprocess.Popen
    url: str
    webhook_secret: str

    def environment(self) -> dict[str, str]:
        """What config/settings.py reads to use the Stripe connector against this fake Stripe."""
        return {"DEMO_STRIPE_API_KEY": API_KEY, "DEMO_STRIPE_API_BASE": self.url,
                "DEMO_STRIPE_WEBHOOK_SECRET": self.webhook_secret}


def require_installed() -> None:
    """A ``CommandError`` saying what to install when localstripe or the stripe library is missing."""
    if importlib.util.find_spec("localstripe") is None:
        raise CommandError("demo --stripe runs localstripe, a fake Stripe: pip install localstripe "
                           "(a test tool, GPL-3.0; the dev extra brings it)")
    if importlib.util.find_spec("stripe") is None:
        raise CommandError('demo --stripe needs the stripe library: pip install ".[stripe]"')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(timeout: float = 20) -> FakeStripe:
    """localstripe on a free loopback port, empty, answering; in its own process group."""
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="demo-localstripe-")  # it keeps a pickle of its data there
    process = subprocess.Popen([sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
                               cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    fake = FakeStripe(process, f"http://127.0.0.1:{port}", f"whsec_{secrets.token_hex(16)}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(f"{fake.url}/v1/customers", auth=(API_KEY, ""), timeout=1)
            return fake
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise CommandError(f"localstripe did not start on port {port}") from None
            time.sleep(0.1)


def send_webhooks_to(fake: FakeStripe, url: str) -> None:
    """Have localstripe sign and post the events the connector maps to ``url``."""
    from billing_events.stripe.mapping import MAPPED_TYPES

    response = requests.post(f"{fake.url}/_config/webhooks/demo", timeout=5,
                             json={"url": url, "secret": fake.webhook_secret, "events": sorted(MAPPED_TYPES)})
    response.raise_for_status()


def subscribe_a_failing_customer(fake: FakeStripe) -> tuple[str, str]:
    """A customer paying by a SEPA debit that fails, subscribed to a monthly plan: its first
    invoice's payment fails a moment later. Returns the customer's and the invoice's ids."""
    import stripe

    client = stripe.StripeClient(API_KEY, base_addresses={"api": fake.url})
    v1 = getattr(client, "v1", client)
    customer = v1.customers.create(params=CUSTOMER)
    method = v1.payment_methods.create(params={"type": "sepa_debit", "sepa_debit": {"iban": FAILING_IBAN}})
    v1.payment_methods.attach(method.id, params={"customer": customer.id})
    v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": method.id}})
    product = v1.products.create(params={"name": "Pro"})
    plan = v1.plans.create(params={"product": product.id, "amount": 125000, "currency": "eur", "interval": "month"})
    subscription = v1.subscriptions.create(params={"customer": customer.id, "items": [{"plan": plan.id}]})
    return customer.id, subscription.latest_invoice
