"""send_webhook, send_slack and send_sms against a real HTTP server on loopback; send_email against a
real SMTP server on loopback."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from automations import clock, services
from automations.masking import MASK
from automations.models import Execution
from automations.providers.sms import ConsoleSMSProvider
from tests.conftest import sample
from tests.fixtures.smtp import smtp  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def run_steps(engine, steps, data=None, **extra) -> Execution:
    automation = services.create_automation({"name": "T", "trigger": {"type": "manual"}, "steps": steps, **extra})
    services.activate(automation)
    execution = engine.run(services.run_manual, automation, data if data is not None else sample("payment.failed"))
    execution.refresh_from_db()
    return execution


def webhook(url, **config):
    return {"key": "hook", "type": "action", "action": "send_webhook", "config": {"url": url, **config}}


def test_signed_webhook_is_verified_by_a_standard_webhooks_library(engine, http_server):
    execution = run_steps(engine, [webhook(f"{http_server.url}/hooks/billing", secret=SECRET,
        headers={"X-Tenant": "{{ customer.id }}", "Authorization": "Bearer s3cret"},
        body={"event": "dunning.escalated", "invoice": "{{ invoice.number }}",
              "amount_due": "{{ invoice.amount_due }}", "attempt": 1})])
    assert execution.status == "succeeded", execution.error
    [request] = http_server.requests
    assert request.method == "POST" and request.path == "/hooks/billing"
    assert request.headers["x-tenant"] == "cus_1001" and request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == f"{execution.pk}:hook:0"
    assert request.headers["user-agent"].startswith("billing-automations/")
    payload = Webhook(SECRET).verify(request.body, request.headers)  # raises if the signature is wrong
    assert payload == {"event": "dunning.escalated", "invoice": "INV-2026-0042", "amount_due": "1250.00",
                       "attempt": 1}
    logged = execution.step_runs.get().input
    assert logged["secret"] == MASK and logged["headers"]["Authorization"] == MASK
    assert "s3cret" not in json.dumps(logged) and SECRET not in json.dumps(logged)
    assert execution.outputs["hook"] == {"status_code": 200, "webhook_id": f"{execution.pk}:hook:0",
                                         "response": {"ok": True}}


def test_a_branch_on_a_webhooks_status_code_goes_the_same_way_in_test_mode_and_live(engine, http_server):
    """A call that went through says its status code to later steps, predicted or performed."""
    steps = [webhook(f"{http_server.url}/crm"),
             {"key": "accepted", "type": "branch",
              "if": {"all": [{"field": "steps.hook.output.status_code", "operator": "equals", "value": 200}]},
              "then": [{"key": "synced", "type": "stop"}], "else": [{"key": "unsynced", "type": "stop",
                                                                       "status": "failed"}]}]
    tested = services.test_run(None, sample("payment.failed"), definition={"name": "T", "trigger": {"type": "manual"},
                                                                           "steps": steps})
    live = run_steps(engine, steps)
    assert tested["timeline"][1]["branch"] == "then" and tested["status"] == live.status == "succeeded"
    assert not http_server.requests[1:], "test mode sends nothing"


@pytest.mark.parametrize("status, outcome", [(404, "fails"), (503, "fails_temporarily")])
def test_a_webhook_refused_says_its_status_code_in_test_mode_as_live(engine, http_server, status, outcome):
    """A scenario's failed call is an HTTP answer of its kind (fails: a 400, fails_temporarily: a 503)."""
    once = {"max_attempts": 1, "initial_interval": "1m", "backoff_coefficient": 1, "max_interval": "1m"}
    steps = [{**webhook(f"{http_server.url}/crm"), "on_failure": "continue", "retry": once},
             {"key": "answered", "type": "branch",
              "if": {"all": [{"field": "steps.hook.output.status_code", "operator": "is_set"}]},
              "then": [{"key": "told", "type": "stop"}], "else": [{"key": "unreachable", "type": "stop",
                                                                    "status": "failed"}]}]
    definition = {"name": "T", "trigger": {"type": "manual"}, "steps": steps}
    tested = services.test_run(None, sample("payment.failed"), definition=definition, outcomes={"hook": [outcome]})
    http_server.respond(status, {"error": "no"})
    live = run_steps(engine, steps)
    assert tested["timeline"][1]["branch"] == "then" and tested["status"] == live.status == "succeeded"
    assert tested["timeline"][0]["output"]["status_code"] == (400 if outcome == "fails" else 503)


def test_a_tampered_payload_fails_verification(engine, http_server):
    run_steps(engine, [webhook(http_server.url, secret=SECRET, body={"a": 1})])
    request = http_server.requests[0]
    with pytest.raises(Exception):
        Webhook(SECRET).verify(request.body.replace(b"1", b"2"), request.headers)


def test_retry_on_503_503_200_with_backoff_on_the_virtual_clock(engine, http_server):
    http_server.respond(503, {"error": "busy"})
    http_server.respond(503, {"error": "busy"})
    execution = run_steps(engine, [webhook(http_server.url, body={"n": 1},
        **{})], retry={"max_attempts": 3, "initial_interval": "30s", "backoff_coefficient": 2})
    assert execution.status == "waiting" and len(http_server.requests) == 1
    engine.advance(seconds=29)
    assert len(http_server.requests) == 1
    engine.advance(seconds=1)
    assert len(http_server.requests) == 2
    engine.advance(seconds=59)
    assert len(http_server.requests) == 2
    engine.advance(seconds=1)
    execution.refresh_from_db()
    assert execution.status == "succeeded" and len(http_server.requests) == 3
    runs = list(execution.step_runs.values_list("attempt", "status", "error"))
    assert [r[:2] for r in runs] == [(1, "failed"), (2, "failed"), (3, "succeeded")]
    assert "answered HTTP 503" in runs[0][2]
    assert {r.headers["webhook-id"] for r in http_server.requests} == {f"{execution.pk}:hook:0"}


def test_a_400_fails_at_once(engine, http_server):
    http_server.respond(400, {"error": "bad field"})
    execution = run_steps(engine, [webhook(http_server.url, body={})], retry={"max_attempts": 5})
    assert execution.status == "failed" and len(http_server.requests) == 1
    assert "answered HTTP 400" in execution.error and "bad field" in execution.error


def test_429_honours_retry_after(engine, http_server):
    http_server.respond(429, {}, headers={"Retry-After": "120"})
    execution = run_steps(engine, [webhook(http_server.url)], retry={"max_attempts": 2, "initial_interval": "10s"})
    assert execution.status == "waiting"
    engine.advance(seconds=119)
    assert len(http_server.requests) == 1
    engine.advance(seconds=1)
    assert len(http_server.requests) == 2


def test_a_retry_after_longer_than_the_policy_allows_waits_only_max_interval(engine, http_server):
    http_server.respond(503, {}, headers={"Retry-After": "86400"})
    execution = run_steps(engine, [webhook(http_server.url)],
                          retry={"max_attempts": 2, "initial_interval": "1s", "max_interval": "5s"})
    assert execution.status == "waiting" and execution.wake_at == clock.now() + timedelta(seconds=5)
    engine.advance(seconds=5)
    execution.refresh_from_db()
    assert execution.status == "succeeded" and len(http_server.requests) == 2


@pytest.mark.parametrize("header", ["9999999999999", "99999999999", "9" * 400, "soon", "Wed, 21 Oct 1015 07:28:00 GMT"])
def test_an_absurd_or_unreadable_retry_after_is_as_if_not_said(engine, http_server, header):
    """The attempt is recorded as failed at once and the next one waits the policy's backoff: no
    crash in the bookkeeping, no run parked until the year 5195."""
    http_server.respond(503, {}, headers={"Retry-After": header})
    execution = run_steps(engine, [webhook(http_server.url)], retry={"max_attempts": 2, "initial_interval": "10s"})
    assert execution.status == "waiting" and execution.wake_at == clock.now() + timedelta(seconds=10)
    [row] = execution.step_runs.all()
    assert row.status == "failed" and "answered HTTP 503" in row.error
    engine.advance(seconds=10)
    execution.refresh_from_db()
    assert execution.status == "succeeded" and len(http_server.requests) == 2


def test_exhausted_retries_run_the_fallback(engine, http_server):
    for _ in range(2):
        http_server.respond(500, {})
    execution = run_steps(engine, [
        {**webhook(f"{http_server.url}/primary"), "retry": {"max_attempts": 2, "initial_interval": "1m"},
         "on_failure": "continue",
         "fallback": [{"key": "alert", "type": "action", "action": "send_webhook",
                       "config": {"url": f"{http_server.url}/fallback", "body": {"failed": "{{ steps.hook.output.error }}"}}}]},
        {"key": "after", "type": "action", "action": "send_webhook", "config": {"url": f"{http_server.url}/after"}}])
    engine.advance(minutes=1)
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert [r.path for r in http_server.requests] == ["/primary", "/primary", "/fallback", "/after"]
    assert "HTTP 500" in http_server.requests[2].json()["failed"]


def test_a_timeout_is_retried(engine, http_server):
    http_server.respond(200, {}, delay=1.5)
    execution = run_steps(engine, [webhook(http_server.url, timeout=0.5)], retry={"max_attempts": 2, "initial_interval": "1m"})
    assert execution.status == "waiting"
    assert "timed out after 0.5s" in execution.step_runs.get().error
    engine.advance(minutes=1)
    execution.refresh_from_db()
    assert execution.status == "succeeded" and len(http_server.requests) == 2


def test_a_connection_refused_is_retried(engine, http_server):
    execution = run_steps(engine, [webhook("http://127.0.0.1:9/closed")], retry={"max_attempts": 2})
    assert execution.status == "waiting"
    assert "could not connect" in execution.step_runs.get().error


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin",
                                 "http://127.0.0.1:8000/", "http://[::1]/", "http://localhost/",
                                 "http://192.168.1.1/", "ftp://example.com/file"])
def test_private_addresses_are_refused_with_a_clear_step_error(engine, url, settings):
    settings.AUTOMATIONS = {"OUTBOUND_ALLOWED_HOSTS": []}
    execution = run_steps(engine, [webhook(url)], retry={"max_attempts": 3})
    assert execution.status == "failed", "a refused destination is never retried"
    assert "refused" in execution.error or "not an http(s) URL" in execution.error
    assert execution.step_runs.count() == 1


def test_allow_list_accepts_networks(engine, http_server, settings):
    settings.AUTOMATIONS = {"OUTBOUND_ALLOWED_HOSTS": ["127.0.0.0/8"]}
    assert run_steps(engine, [webhook(http_server.url)]).status == "succeeded"


def test_slack_post(engine, http_server):
    execution = run_steps(engine, [{"key": "ops", "type": "action", "action": "send_slack",
        "config": {"text": "Retry failed for {{ invoice.number }}", "channel": "#collections",
                   "webhook_url": f"{http_server.url}/services/T000/B000/XXXX"}}])
    assert execution.status == "succeeded", execution.error
    [request] = http_server.requests
    assert request.path == "/services/T000/B000/XXXX"
    assert request.json() == {"text": "Retry failed for INV-2026-0042", "channel": "#collections"}
    assert execution.step_runs.get().input["webhook_url"] == MASK


def test_a_failing_slack_call_does_not_leak_the_webhook_url(engine, http_server):
    http_server.respond(404, {"error": "no_service"})
    execution = run_steps(engine, [{"key": "ops", "type": "action", "action": "send_slack",
        "config": {"text": "x", "webhook_url": f"{http_server.url}/services/T000/B000/SECRETTOKEN"}}])
    assert execution.status == "failed" and "HTTP 404" in execution.error
    assert "SECRETTOKEN" not in execution.error and "SECRETTOKEN" not in str(list(execution.step_runs.values()))


def test_slack_url_from_settings_and_required_otherwise(engine, http_server, settings):
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "SLACK_WEBHOOK_URL": f"{http_server.url}/slack"}
    assert run_steps(engine, [{"key": "s", "type": "action", "action": "send_slack",
                               "config": {"text": "hi"}}]).status == "succeeded"
    assert http_server.requests[0].path == "/slack"
    settings.AUTOMATIONS = {}
    with pytest.raises(Exception, match="steps.s.config.webhook_url: is required"):
        services.create_automation({"name": "S", "trigger": {"type": "manual"}, "steps": [
            {"key": "s", "type": "action", "action": "send_slack", "config": {"text": "hi"}}]})


def test_sms_through_the_http_provider(engine, http_server, settings):
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "SMS_PROVIDER": "automations.providers.sms.HTTPSMSProvider",
                            "SMS_OPTIONS": {"account_sid": "AC123", "auth_token": "tok", "from_number": "+15550001111",
                                            "base_url": http_server.url}}
    http_server.respond(201, {"sid": "SM42", "status": "queued"})
    execution = run_steps(engine, [{"key": "text", "type": "action", "action": "send_sms",
        "config": {"to": "{{ customer.phone }}", "message": "Invoice {{ invoice.number }} is unpaid"}}],
        conditions={"all": [{"field": "customer.phone", "operator": "is_set"}]})
    assert execution.status == "succeeded", execution.error
    [request] = http_server.requests
    assert request.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request.headers["authorization"] == "Basic QUMxMjM6dG9r"  # AC123:tok
    assert request.headers["i-twilio-idempotency-token"] == f"{execution.pk}:text:0"
    from urllib.parse import parse_qs

    assert parse_qs(request.body.decode()) == {"To": ["+14155550100"], "From": ["+15550001111"],
                                               "Body": ["Invoice INV-2026-0042 is unpaid"]}
    assert execution.outputs["text"] == {"provider": "http", "to": "+14155550100", "sid": "SM42", "status": "queued"}


def test_sms_console_provider_is_the_default(engine):
    ConsoleSMSProvider.outbox.clear()
    execution = run_steps(engine, [{"key": "text", "type": "action", "action": "send_sms",
                                    "config": {"to": "+15551234", "message": "hi {{ customer.name }}"}}])
    assert execution.status == "succeeded"
    assert ConsoleSMSProvider.outbox == [{"to": "+15551234", "body": "hi Acme Corp", "id": f"{execution.pk}:text:0"}]


def test_bad_webhook_config_is_refused_on_save():
    with pytest.raises(Exception) as error:
        services.create_automation({"name": "W", "trigger": {"type": "manual"}, "steps": [
            {"key": "w", "type": "action", "action": "send_webhook",
             "config": {"url": "https://x.example", "method": "FETCH", "secret": "nope", "timeout": 600}}]})
    message = str(error.value)
    assert "steps.w.config.method" in message and "steps.w.config.secret" in message
    assert "steps.w.config.timeout" in message


def test_dns_rebinding_cannot_reach_a_blocked_address(engine, http_server, settings, monkeypatch):
    """The name resolves to a public address when checked, then to loopback when connecting."""
    import socket

    settings.AUTOMATIONS = {"OUTBOUND_ALLOWED_HOSTS": []}
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.216.34"])

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            address = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = http_server.url.rsplit(":", 1)[1]
    execution = run_steps(engine, [webhook(f"http://rebind.example:{port}/internal")])
    assert execution.status == "failed"
    assert "refused to call rebind.example (127.0.0.1)" in execution.error
    assert not http_server.requests, "nothing reached the loopback server"


def email(**config):
    return {"key": "mail", "type": "action", "action": "send_email",
            "config": {"to": "{{ customer.email }}", "subject": "Hi", "body": "b", **config}}


def test_an_smtp_4xx_is_retried_and_a_5xx_fails_at_once(engine, smtp):
    smtp.replies[:] = ["451 4.3.0 Temporary local problem"]
    later = run_steps(engine, [email()], retry={"max_attempts": 2, "initial_interval": "1m"})
    assert later.status == "waiting" and not smtp.messages
    engine.advance(minutes=1)
    later.refresh_from_db()
    assert later.status == "succeeded" and len(smtp.messages) == 1

    smtp.replies[:] = ["550 5.1.1 Mailbox unavailable"]
    refused = run_steps(engine, [email()], retry={"max_attempts": 5, "initial_interval": "1m"})
    assert refused.status == "failed" and "550" in refused.error and refused.step_runs.count() == 1
