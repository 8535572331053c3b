"""Every outbound call ends within its deadline, however slowly the other side answers: a webhook
receiver that trickles its answer a byte at a time, an SMTP server that stalls, whatever the
host's EMAIL_TIMEOUT. The attempt is recorded as failed at once and tried again under the policy."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from automations import services
from automations.models import Execution
from tests.conftest import sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def trickling_server(settings) -> Iterator[str]:
    """An HTTP server on loopback that answers a byte every 0.2 s, for ten seconds."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n" + b"x" * 40:
                    if stop.wait(0.2):
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    settings.AUTOMATIONS = {**getattr(settings, "AUTOMATIONS", {}), "OUTBOUND_ALLOWED_HOSTS": ["127.0.0.1"],
                            "ACTION_TIMEOUT_SECONDS": 1}
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/slow"
    stop.set()
    listener.close()


class StallingHandler:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        await asyncio.sleep(8)
        return "250 OK"


@pytest.fixture
def stalling_smtp(settings) -> Iterator[None]:
    import django

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(StallingHandler(), hostname="127.0.0.1", port=port)
    controller.start()
    backend = "django.core.mail.backends.smtp.EmailBackend"
    if django.VERSION >= (6, 1):  # no timeout of the host's own: the deadline alone must end the call
        settings.MAILERS = {"default": {"BACKEND": backend, "OPTIONS": {"host": "127.0.0.1", "port": port}}}
    else:
        settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = backend, "127.0.0.1", port
        settings.EMAIL_TIMEOUT = None
    settings.AUTOMATIONS = {**getattr(settings, "AUTOMATIONS", {}), "ACTION_TIMEOUT_SECONDS": 1}
    yield
    controller.stop()


def run(engine, step: dict) -> tuple[Execution, float]:
    automation = services.create_automation({"name": "Slow", "trigger": {"type": "manual"}, "steps": [step]})
    services.activate(automation)
    started = time.monotonic()
    execution = engine.run(services.run_manual, automation, sample("payment.failed"))
    execution.refresh_from_db()
    return execution, time.monotonic() - started


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_deadline(engine, trickling_server):
    execution, took = run(engine, {"key": "hook", "type": "action", "action": "send_webhook",
                                   "config": {"url": trickling_server}})
    assert took < 4, f"held for {took:.1f}s: a byte every 0.2s never trips a per-read timeout, the deadline must"
    [attempt] = execution.step_runs.all()
    assert attempt.status == "failed" and attempt.error == f"POST {trickling_server} timed out after 1s"
    assert execution.status == "waiting", "timed out: tried again under the retry policy"


def test_an_smtp_server_that_stalls_is_cut_off_at_the_deadline_whatever_email_timeout(engine, stalling_smtp):
    execution, took = run(engine, {"key": "hello", "type": "action", "action": "send_email",
                                   "config": {"to": "{{ customer.email }}", "subject": "Hi", "body": "b"}})
    assert took < 5, f"held for {took:.1f}s"
    [attempt] = execution.step_runs.all()
    assert attempt.status == "failed" and attempt.error.startswith("could not send email:")
    assert execution.status == "waiting"
