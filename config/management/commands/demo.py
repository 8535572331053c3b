"""``manage.py demo``: set up the demo and run the web server with a worker cluster beside it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing_events import emit
from billing_events.catalogue import get_event_type
from config import demo_stripe
from config.demo_data import ADMIN_PASSWORD, ADMIN_USERNAME, DEMO_EVENT_ID, load_demo_data

MANAGE = str(Path(__file__).resolve().parents[3] / "manage.py")


class Command(BaseCommand):
    help = "Migrate, load demo data, emit a failed payment, then run the server and a worker cluster."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="where the web server listens")
        parser.add_argument("--setup-only", action="store_true", help="prepare the data, start nothing")
        parser.add_argument("--stripe", action="store_true",
                            help="run the dunning against localstripe, a fake Stripe (pip install localstripe)")

    def handle(self, *args, **options) -> None:
        if options["stripe"]:
            demo_stripe.require_installed()
            if options["setup_only"]:
                raise CommandError("--stripe starts a fake Stripe, the server and the cluster: "
                                   "it cannot be combined with --setup-only")
        call_command("migrate", interactive=False, verbosity=0)
        automation = load_demo_data()
        if options["stripe"]:
            # The sample event's customer is the reference gateway's, not Stripe's: the failed
            # payment comes from the fake Stripe instead, once the server is up.
            self.stdout.write(self.style.SUCCESS(f"Demo ready: automation '{automation.name}' is {automation.status}."))
        else:
            event = emit("payment.failed", get_event_type("payment.failed").sample_data(), id=DEMO_EVENT_ID)
            self.stdout.write(self.style.SUCCESS(
                f"Demo ready: automation '{automation.name}' is {automation.status}; "
                f"{'emitted' if event.created else 'already emitted'} payment.failed {event.id}."))
        if options["setup_only"]:
            return
        host = options["addrport"]
        self.stdout.write(
            f"\n  Admin:      http://{host}/admin/  (user {ADMIN_USERNAME}, password {ADMIN_PASSWORD})\n"
            f"  Executions: http://{host}/admin/automations/execution/\n"
            "  Emails are printed below by the worker cluster. Ctrl-C stops everything.\n")
        processes: list[subprocess.Popen] = []
        environment = dict(os.environ)
        # Each child leads its own process group: the terminal's Ctrl-C reaches this command only,
        # which stops the children in order, then kills whatever is left of each group (the
        # cluster's workers included), so nothing outlives the demo holding the database.
        # Ctrl-C too: a demo started with SIGINT ignored (from a script, in the background) would
        # otherwise not stop on it
        previous = {number: signal.signal(number, _stop) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            fake = None
            if options["stripe"]:
                fake = demo_stripe.start()
                processes.append(fake.process)
                environment.update(fake.environment())  # the settings the server and the cluster read
                self.stdout.write(f"  Stripe:     localstripe at {fake.url} (API key {demo_stripe.API_KEY})\n")
            processes += [
                subprocess.Popen([sys.executable, MANAGE, "qcluster"], start_new_session=True, env=environment),
                subprocess.Popen([sys.executable, MANAGE, "runserver", host, "--noreload"], start_new_session=True,
                                 env=environment),
            ]
            if fake is not None:
                self._fail_a_payment_in_stripe(fake, host, processes)
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            _stop_all(processes)

    def _fail_a_payment_in_stripe(self, fake: demo_stripe.FakeStripe, host: str,
                                  processes: list[subprocess.Popen]) -> None:
        """Once the server answers: Stripe's events to its webhook, and a subscription whose first
        payment fails, so Stripe's invoice.payment_failed starts the dunning."""
        deadline = time.monotonic() + 60
        while not _serving(host):
            if time.monotonic() > deadline or any(process.poll() is not None for process in processes):
                raise CommandError(f"the demo's server did not start on {host}")
            time.sleep(0.3)
        demo_stripe.send_webhooks_to(fake, f"http://{host}/stripe/webhook/")
        customer, invoice = demo_stripe.subscribe_a_failing_customer(fake)
        self.stdout.write(self.style.SUCCESS(
            f"Stripe: customer {customer} subscribed; the SEPA debit of invoice {invoice} fails in a moment "
            f"and Stripe's invoice.payment_failed starts the dunning."))


def _serving(host: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}/admin/login/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGINT, SIGTERM and SIGHUP all stop the demo the way Ctrl-C does


def _stop_all(processes: list[subprocess.Popen], grace: float = 15) -> None:
    """Ask each process to stop, give them ``grace`` seconds in all, then kill every process of
    their groups."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            pass
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # what is left of the group: orphaned workers
        except ProcessLookupError:
            pass  # the whole group has ended
        process.wait()
