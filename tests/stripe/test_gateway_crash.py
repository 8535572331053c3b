"""A worker cluster collecting through the Stripe gateway, killed while Stripe is answering its
payment: the restarted cluster settles the attempt from Stripe, and the invoice is paid once."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

import pytest
import requests
import stripe
from django.db import connection

from automations import services
from automations.models import Execution
from automations.run_control import resume_now
from billing_events import emit
from billing_events.gateway import configured_gateway
from billing_events.models import Event, Invoice
from tests.conftest import sample
from tests.fixtures.cluster import kill, start
from tests.fixtures.localstripe import API_KEY
from tests.stripe.test_gateway import PAYS, _card, _charges, _open_invoice, stripe_api
from tests.stripe.test_webhooks_localstripe import FAILING_IBAN, _subscribe_paying_from, machine_time  # noqa: F401
from tests.stripe.test_webhooks_localstripe import SECRET as WEBHOOK_SECRET

pytestmark = [
    pytest.mark.crash,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a worker cluster needs PostgreSQL"),
]


class SlowPayments:
    """A loopback proxy to the fake Stripe that holds back its answer to the first payment it
    forwards: the payment is made, the worker that asked never hears of it."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.paid = threading.Event()
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.request(self.command, proxy.upstream + self.path, data=body, headers=headers,
                                          timeout=10)
                if self.path.endswith("/pay") and not proxy.paid.is_set():
                    proxy.paid.set()
                    proxy.release.wait(60)  # the worker is killed while it waits for this
                try:
                    self.send_response(answer.status_code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_payments(localstripe) -> Iterator[SlowPayments]:
    proxy = SlowPayments(localstripe.url)
    yield proxy
    proxy.close()


@contextmanager
def cluster_running(log: IO[bytes], environment: dict[str, str]) -> Iterator[None]:
    """A worker cluster and its ticker, killed (-9, every process they forked) when the block ends."""
    cluster = start("manage.py", "qcluster", log=log, **environment)
    ticker = start("-m", "tests.fixtures.ticker", log=log, **environment)
    try:
        yield
    finally:
        kill(cluster)
        kill(ticker)


def wait_until(condition, seconds: float, what: str, log_path: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"waited {seconds}s for {what}\n" + log_path.read_text(errors="replace")[-3000:])


def test_a_worker_killed_while_stripe_answers_its_payment_leaves_the_invoice_paid_once(localstripe, slow_payments,
                                                                                      tmp_path, monkeypatch):
    client = stripe_api(localstripe.url)
    customer_id, invoice_id = _open_invoice(client, PAYS)
    charges_before = _charges(client, customer_id)
    automation = services.create_automation({
        "name": "Collect", "trigger": {"type": "event", "event": "invoice.issued"},
        "steps": [{"key": "collect", "type": "action", "action": "retry_payment", "config": {}}]})
    services.activate(automation)
    with monkeypatch.context() as lost:  # the dispatch is lost on the way: the cluster's sweep queues it again
        lost.setattr("automations.triggers.receivers.queue_now", lambda *args, **kwargs: None)
        emit("invoice.issued", sample("invoice.issued", customer={"id": customer_id},
                                      invoice={"id": invoice_id, "customer_id": customer_id}), id="evt_1")

    environment = {"DJANGO_SETTINGS_MODULE": "tests.fixtures.stripe_cluster_settings",
                   "STRIPE_API_BASE": slow_payments.url}
    log_path = tmp_path / "cluster.log"
    with open(log_path, "wb") as log:
        with cluster_running(log, environment):
            wait_until(slow_payments.paid.is_set, 30, "the worker's payment to reach Stripe", log_path)
        slow_payments.release.set()
        assert client.invoices.retrieve(invoice_id).status == "paid", "the killed worker's payment was made"
        assert Execution.objects.get().status == "running"

        with cluster_running(log, environment):
            wait_until(lambda: Execution.objects.get().status in ("succeeded", "failed"), 45, "the resumed run",
                       log_path)

    execution = Execution.objects.get()
    assert execution.status == "succeeded", (execution.error, log_path.read_text(errors="replace")[-3000:])
    [attempt] = execution.step_runs.values_list("status", "error")
    assert attempt == ("succeeded", "worker stopped during this attempt; result recovered by idempotency key")
    assert execution.outputs["collect"]["status"] == "succeeded"
    assert _charges(client, customer_id) == [*charges_before, "succeeded"], "charged once"


@pytest.mark.urls("tests.stripe.urls")
def test_the_whole_way_from_stripe_with_the_worker_killed_while_stripe_answers_the_retry(
        localstripe, stripe_webhooks, slow_payments, settings, dunning, machine_time, tmp_path, monkeypatch):
    """Stripe's failed payment starts the dunning through the webhook; collections resume it once
    the customer has a card that pays; the worker cluster's retry reaches Stripe and the worker is
    killed before it hears the answer. Whichever comes first — the restarted cluster settling the
    attempt from Stripe, or Stripe's word that the invoice is paid ending the run — the invoice is
    paid once and the run ends."""
    settings.BILLING_EVENTS = {**settings.BILLING_EVENTS, "STRIPE_WEBHOOK_SECRETS": [WEBHOOK_SECRET],
                               "BILLING_GATEWAY": "billing_events.stripe.gateway.StripeGateway"}
    configured_gateway.cache_clear()
    stripe_webhooks.send(WEBHOOK_SECRET, ["invoice.payment_failed", "invoice.payment_succeeded"])
    client = stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.url})
    subscription = _subscribe_paying_from(client, FAILING_IBAN)
    execution = stripe_webhooks.eventually(lambda: Execution.objects.filter(automation=dunning, status="waiting",
                                                                            outputs__has_key="gentle").first())
    _card(client.v1, subscription.customer, PAYS)
    monkeypatch.setattr("automations.run_control.enqueue", lambda *args: None)  # the cluster's sweep takes it
    resume_now(execution)

    environment = {"DJANGO_SETTINGS_MODULE": "tests.fixtures.stripe_cluster_settings",
                   "STRIPE_API_BASE": slow_payments.url}
    log_path = tmp_path / "cluster.log"
    with open(log_path, "wb") as log:
        with cluster_running(log, environment):
            wait_until(slow_payments.paid.is_set, 30, "the worker's payment to reach Stripe", log_path)
        slow_payments.release.set()
        assert client.v1.invoices.retrieve(subscription.latest_invoice).status == "paid", "the payment was made"

        with cluster_running(log, environment):
            # ended, and its retry's attempt settled (by the worker that took the run over, or by the
            # sweep when the run was ended while the attempt was under way)
            ended = stripe_webhooks.eventually(
                lambda: Execution.objects.filter(pk=execution.pk, status__in=["succeeded", "canceled"])
                .exclude(step_runs__status="running").first(), 45)
    configured_gateway.cache_clear()

    charges = client.v1.charges.list(params={"customer": subscription.customer}).data
    assert [charge.status for charge in charges].count("succeeded") == 1, "paid once"
    assert ended.status_reason in ("stopped at step recovered", "exit: invoice.paid") or \
        "invoice.paid" in ended.status_reason, ended.status_reason
    assert Event.objects.filter(type="invoice.paid").count() == 1
    assert Invoice.objects.get(pk=subscription.latest_invoice).status == "paid"
    [retry] = ended.step_runs.filter(step_key="retry")
    assert retry.status == "succeeded" and retry.output["status"] == "succeeded"
    assert retry.error in ("worker stopped during this attempt; result recovered by idempotency key",
                           "the run ended while this attempt was under way; result recovered by idempotency key")
