"""manage.py demo: the demo data, the live dunning automation, the waiting execution; with --stripe,
the same dunning started by a payment that fails in localstripe (a fake Stripe)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import sqlite3

import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.core.management import CommandError, call_command

from automations.models import Automation, Execution
from config.demo_data import ADMIN_PASSWORD, ADMIN_USERNAME
from config.management.commands.demo import _serving

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_demo_setup_leaves_a_waiting_dunning_execution(django_capture_on_commit_callbacks, capsys):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", "--setup-only")
        call_command("demo", "--setup-only")  # running it again changes nothing
    assert "already emitted payment.failed evt_demo_payment_failed" in capsys.readouterr().out
    automation = Automation.objects.get()
    assert automation.status == "active"
    execution = Execution.objects.get()
    assert execution.status == "waiting"
    assert list(execution.step_runs.values_list("step_key", flat=True)) == ["gentle", "wait_3d"]
    assert mail.outbox[0].subject == "We couldn't process your payment for INV-2026-0042"
    assert authenticate(username=ADMIN_USERNAME, password=ADMIN_PASSWORD).is_superuser


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process, read from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry)] = (int(fields[1]), fields[0])
    return table


def _descendants(pid: int) -> set[int]:
    table, found, frontier = _process_table(), set(), {pid}
    while frontier:
        frontier = {child for child, (parent, _) in table.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    table = _process_table()
    return {pid for pid in pids if pid in table and table[pid][1] != "Z"}


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table from /proc")
@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_stopping_the_demo_stops_every_process_it_started(tmp_path, stop):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "Q_WORKERS": "2",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    with open(tmp_path / "demo.log", "wb") as log:
        # its own process group, like a command started from a terminal
        demo = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "demo", "--addrport", f"127.0.0.1:{port}"],
                                cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                started = _descendants(demo.pid)
                if _serving(f"127.0.0.1:{port}") and len(started) >= 5:  # server, cluster, and the cluster's own processes
                    break
                assert demo.poll() is None, (tmp_path / "demo.log").read_text()
                time.sleep(0.5)
            else:
                pytest.fail(f"the demo did not start: {(tmp_path / 'demo.log').read_text()}")
            time.sleep(2)  # let the cluster settle
            started = _descendants(demo.pid)
            if stop == "ctrl-c":  # a terminal signals the whole foreground process group
                os.killpg(demo.pid, signal.SIGINT)
            else:  # a process manager signals the demo's own process only
                os.kill(demo.pid, signal.SIGTERM)
            demo.wait(timeout=40)
            deadline = time.monotonic() + 10
            while _alive(started) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not _alive(started), f"left running: {_alive(started)}"
        finally:
            for pid in _alive(_descendants(demo.pid) | {demo.pid}):
                os.kill(pid, signal.SIGKILL)


def test_demo_stripe_without_localstripe_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "localstripe", None)  # as if it were not installed
    with pytest.raises(CommandError, match=r"pip install localstripe \(a test tool, GPL-3.0"):
        call_command("demo", "--stripe")


def _rows(database: Path, query: str) -> list[tuple]:
    try:
        with sqlite3.connect(database, timeout=5) as connection:
            return connection.execute(query).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table from /proc")
def test_demo_stripe_starts_the_dunning_on_a_payment_failed_in_stripe(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = tmp_path / "demo.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "Q_WORKERS": "1",
           "DATABASE_URL": f"sqlite:///{database}"}
    with open(tmp_path / "demo.log", "wb") as log:
        demo = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "demo", "--stripe", "--addrport",
                                 f"127.0.0.1:{port}"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            runs: list[tuple] = []
            while not runs and time.monotonic() < deadline:
                assert demo.poll() is None, (tmp_path / "demo.log").read_text()
                time.sleep(0.5)
                runs = _rows(database, "SELECT e.id, x.status FROM billing_events_event e JOIN automations_execution x"
                                       " ON x.event_id = e.id WHERE e.type = 'payment.failed'"
                                       " AND x.status = 'waiting'")  # the reminder sent, the 3 days' wait begun
            assert runs, f"no dunning run: {(tmp_path / 'demo.log').read_text()}"
            [(event_id, _)] = runs
            assert event_id.startswith("evt_") and event_id != "evt_demo_payment_failed"  # Stripe's event
            log_text = (tmp_path / "demo.log").read_text()
            assert "To: billing@hooli.example" in log_text  # the gentle reminder, to Stripe's customer
            started = _descendants(demo.pid)
            os.kill(demo.pid, signal.SIGTERM)
            demo.wait(timeout=40)
            deadline = time.monotonic() + 10
            while _alive(started) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not _alive(started), f"left running: {_alive(started)}"  # localstripe too
        finally:
            for pid in _alive(_descendants(demo.pid) | {demo.pid}):
                os.kill(pid, signal.SIGKILL)
