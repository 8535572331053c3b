"""Named secrets: encrypted at rest, referenced as {{ secrets.NAME }}, resolved only at the outbound call."""
from __future__ import annotations

import base64
import json

import pytest
from cryptography.fernet import Fernet
from standardwebhooks.webhooks import Webhook

from automations import services
from automations.models import Execution, Secret
from billing_events.errors import InvalidInput
from tests.conftest import sample

pytestmark = pytest.mark.django_db
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def store(name: str, value: str) -> Secret:
    secret = Secret(name=name)
    secret.set_value(value)
    secret.save()
    return secret


def run_steps(engine, steps) -> Execution:
    automation = services.create_automation({"name": "T", "trigger": {"type": "manual"}, "steps": steps})
    services.activate(automation)
    execution = engine.run(services.run_manual, automation, sample("payment.failed"))
    execution.refresh_from_db()
    return execution


def test_values_are_encrypted_at_rest_with_the_configured_key(settings):
    key = Fernet.generate_key().decode()
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "SECRETS_KEY": key}
    secret = store("CRM_TOKEN", "crm-tok-123")
    stored = Secret.objects.values_list("ciphertext", flat=True).get()
    assert "crm-tok-123" not in stored and Fernet(key).decrypt(stored.encode()) == b"crm-tok-123"
    # rotation: a new key first, the old one still opens what it encrypted
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "SECRETS_KEY": [Fernet.generate_key().decode(), key]}
    assert Secret.objects.get().reveal() == "crm-tok-123"
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "SECRETS_KEY": Fernet.generate_key().decode()}
    with pytest.raises(Exception, match="cannot be decrypted"):
        secret.reveal()


def test_references_are_resolved_only_in_the_request_that_is_sent(engine, http_server):
    store("PARTNER_KEY", "sk_live_999")
    store("PARTNER_WHSEC", WHSEC)
    execution = run_steps(engine, [{"key": "hook", "type": "action", "action": "send_webhook", "config": {
        "url": f"{http_server.url}/hook?token={{{{ secrets.PARTNER_KEY }}}}",
        "headers": {"X-Api-Key": "{{ secrets.PARTNER_KEY }}"}, "secret": "{{ secrets.PARTNER_WHSEC }}",
        "body": {"invoice": "{{ invoice.number }}"}}}])
    assert execution.status == "succeeded", execution.error
    [request] = http_server.requests
    assert request.path == "/hook?token=sk_live_999" and request.headers["x-api-key"] == "sk_live_999"
    assert Webhook(WHSEC).verify(request.body, request.headers) == {"invoice": "INV-2026-0042"}
    logged = execution.step_runs.get().input
    assert logged["headers"]["X-Api-Key"] == "{{ secrets.PARTNER_KEY }}"
    assert logged["url"].endswith("?token={{ secrets.PARTNER_KEY }}")
    assert "sk_live_999" not in json.dumps(logged) and WHSEC not in json.dumps(logged)


def test_settings_secrets_reach_provider_settings(engine, http_server, settings):
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "SECRETS": {"TWILIO_TOKEN": "tw-tok"},
                            "SMS_PROVIDER": "automations.providers.sms.HTTPSMSProvider",
                            "SMS_OPTIONS": {"account_sid": "AC1", "auth_token": "{{ secrets.TWILIO_TOKEN }}",
                                            "from_number": "+15550001111", "base_url": http_server.url}}
    execution = run_steps(engine, [{"key": "text", "type": "action", "action": "send_sms",
                                    "config": {"to": "+14155550100", "message": "hi"}}])
    assert execution.status == "succeeded", execution.error
    assert http_server.requests[0].headers["authorization"] == "Basic " + base64.b64encode(b"AC1:tw-tok").decode()


def test_test_mode_shows_references_never_values(settings):
    store("PARTNER_KEY", "sk_live_999")
    automation = services.create_automation({"name": "T", "trigger": {"type": "manual"}, "steps": [
        {"key": "hook", "type": "action", "action": "send_webhook", "config": {
            "url": "https://partner.example/hook", "headers": {"X-Api-Key": "{{ secrets.PARTNER_KEY }}"},
            "secret": WHSEC}},
        {"key": "task", "type": "action", "action": "create_task", "config": {"title": "{{ secrets.PARTNER_KEY }}"}}]})
    timeline = services.test_run(automation, {})["timeline"]
    shown = json.dumps(timeline)
    assert "sk_live_999" not in shown and WHSEC not in shown
    assert timeline[0]["would"]["would_call_webhook"]["headers"]["X-Api-Key"] == "{{ secrets.PARTNER_KEY }}"


def test_an_unknown_secret_is_refused_on_save_naming_the_field():
    store("KNOWN", "v")
    with pytest.raises(InvalidInput) as refused:
        services.create_automation({"name": "T", "trigger": {"type": "manual"}, "steps": [
            {"key": "hook", "type": "action", "action": "send_webhook", "config": {
                "url": "https://partner.example/hook?k={{ secrets.KNOWN }}",
                "headers": {"X-Api-Key": "{{ secrets.MISSING }}"}}}]})
    assert [error["field"] for error in refused.value.errors] == ["steps.hook.config.headers.X-Api-Key"]
    assert "no secret named 'MISSING'" in refused.value.errors[0]["message"]


def test_a_secret_used_in_an_expression_is_refused():
    store("KNOWN", "v")
    with pytest.raises(InvalidInput, match="only as"):
        services.create_automation({"name": "T", "trigger": {"type": "manual"}, "steps": [
            {"key": "task", "type": "action", "action": "create_task",
             "config": {"title": "{{ secrets.KNOWN | upper }}"}}]})


def test_a_secret_deleted_after_save_fails_the_step_clearly(engine, http_server):
    secret = store("GONE", "v")
    automation = services.create_automation({"name": "T", "trigger": {"type": "manual"}, "steps": [
        {"key": "hook", "type": "action", "action": "send_webhook",
         "config": {"url": f"{http_server.url}/h", "headers": {"X-Key": "{{ secrets.GONE }}"}}}]})
    services.activate(automation)
    secret.delete()
    execution = engine.run(services.run_manual, automation, {})
    execution.refresh_from_db()
    assert execution.status == "failed" and "no secret named 'GONE'" in execution.error
    assert not http_server.requests
