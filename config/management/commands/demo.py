"""``manage.py demo``: set up the demo and run the web server with a worker cluster beside it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from billing_events import emit
from billing_events.catalogue import get_event_type
from config.demo_data import ADMIN_PASSWORD, ADMIN_USERNAME, DEMO_EVENT_ID, load_demo_data

MANAGE = str(Path(__file__).resolve().parents[3] / "manage.py")


class Command(BaseCommand):
    help = "Migrate, load demo data, emit a failed payment, then run the server and a worker cluster."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="where the web server listens")
        parser.add_argument("--setup-only", action="store_true", help="prepare the data, start nothing")

    def handle(self, *args, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        automation = load_demo_data()
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
        # Each child leads its own process group: the terminal's Ctrl-C reaches this command only,
        # which stops the children in order, then kills whatever is left of each group (the
        # cluster's workers included), so nothing outlives the demo holding the database.
        processes = [
            subprocess.Popen([sys.executable, MANAGE, "qcluster"], start_new_session=True),
            subprocess.Popen([sys.executable, MANAGE, "runserver", host, "--noreload"], start_new_session=True),
        ]
        # Ctrl-C too: a demo started with SIGINT ignored (from a script, in the background) would
        # otherwise not stop on it
        previous = {number: signal.signal(number, _stop) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            _stop_all(processes)


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
