"""send_email over a real SMTP server on loopback (aiosmtpd)."""
from __future__ import annotations

import django
import pytest

from automations import services
from automations.models import EmailTemplate, Execution
from tests.conftest import sample
from tests.fixtures.smtp import smtp  # noqa: F401  (the fixture)


def test_template_email_reaches_the_smtp_server(db, engine, smtp):
    EmailTemplate.objects.create(key="dunning", subject="Invoice {{ invoice.number }} is unpaid",
                                 body_text="Hi {{ customer.name }}, {{ invoice.amount_due | money(invoice.currency) }} is due.",
                                 body_html="<p>Hi {{ customer.name }}</p>")
    automation = services.create_automation({"name": "Mail", "trigger": {"type": "event", "event": "payment.failed"},
        "steps": [{"key": "mail", "type": "action", "action": "send_email",
                   "config": {"template": "dunning", "to": "{{ customer.email }}", "cc": "ar@billing.example",
                              "bcc": ["audit@billing.example"], "from": "Billing <billing@billing.example>"}}]})
    services.activate(automation)
    engine.emit("payment.failed", sample("payment.failed", customer={"name": "Acme <Corp>"}))
    execution = Execution.objects.get()
    assert execution.status == "succeeded", execution.error
    [(recipients, message)] = smtp.messages
    assert sorted(recipients) == ["ar@billing.example", "audit@billing.example", "billing@acme.example"]
    assert message["Subject"] == "Invoice INV-2026-0042 is unpaid"
    assert message["To"] == "billing@acme.example" and message["Cc"] == "ar@billing.example"
    assert "Bcc" not in message
    assert message["From"] == "Billing <billing@billing.example>"
    assert message["Message-ID"] == f"<{execution.pk}.mail.0@automations>"
    assert message.get_body(("plain",)).get_content().strip() == "Hi Acme <Corp>, $1,250.00 is due."
    assert message.get_body(("html",)).get_content().strip() == "<p>Hi Acme &lt;Corp&gt;</p>"
    assert execution.step_runs.get().output["to"] == ["billing@acme.example"]


def test_an_unreachable_smtp_server_is_a_retryable_failure(db, engine, smtp, settings):
    if django.VERSION >= (6, 1):
        settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                        "OPTIONS": {"host": "127.0.0.1", "port": 1, "timeout": 2}}}
    else:
        settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = 1, 2
    automation = services.create_automation({"name": "Mail", "trigger": {"type": "manual"},
        "retry": {"max_attempts": 2, "initial_interval": "1m"},
        "steps": [{"key": "mail", "type": "action", "action": "send_email",
                   "config": {"to": "a@example.com", "subject": "s", "body": "b"}}]})
    services.activate(automation)
    execution = engine.run(services.run_manual, automation, {})
    execution.refresh_from_db()
    assert execution.status == "waiting", "a connection error waits for a retry"
    run = execution.step_runs.get()
    assert run.status == "failed" and "could not send email" in run.error


def inline_mail(engine):
    automation = services.create_automation({"name": "Mail", "trigger": {"type": "event", "event": "payment.failed"},
        "steps": [{"key": "mail", "type": "action", "action": "send_email",
                   "config": {"to": "{{ customer.email }}", "subject": "Hello {{ customer.name }}",
                              "body": "Dear {{ customer.name }},", "html": "<p>{{ customer.name }}</p>"}}]})
    services.activate(automation)
    return automation


@pytest.mark.parametrize("name", ["{{ 7 * 191 }} {{ event.data.payment.failure_message }}", "Bob {{", "{% raw %}"])
def test_template_syntax_in_the_data_is_sent_verbatim(db, engine, smtp, name):
    inline_mail(engine)
    engine.emit("payment.failed", sample("payment.failed", customer={"name": name}))
    execution = Execution.objects.get()
    assert execution.status == "succeeded", execution.error
    [(_, message)] = smtp.messages
    assert message["Subject"] == f"Hello {name}"
    assert message.get_body(("plain",)).get_content().strip() == f"Dear {name},"
    assert message.get_body(("html",)).get_content().strip() == f"<p>{name}</p>"
