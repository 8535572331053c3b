"""update_customer, add_tag and sync_to_crm (an HTTP CRM on loopback)."""
from __future__ import annotations

import pytest

from automations import services
from automations.masking import MASK
from automations.models import Execution
from billing_events.models import Customer
from tests.conftest import sample

pytestmark = pytest.mark.django_db


def run_steps(engine, steps) -> Execution:
    automation = services.create_automation({"name": "R", "trigger": {"type": "event", "event": "payment.failed"},
                                             "steps": steps})
    services.activate(automation)
    engine.emit("payment.failed", sample("payment.failed"))
    return Execution.objects.get()


def test_update_customer_and_tag(engine):
    execution = run_steps(engine, [
        {"key": "mark", "type": "action", "action": "update_customer",
         "config": {"fields": {"segment": "at_risk"}, "metadata": {"dunning_invoice": "{{ invoice.number }}"}}},
        {"key": "tag", "type": "action", "action": "add_tag", "config": {"tag": "dunning-{{ payment.failure_code or 'unknown' }}"}}])
    assert execution.status == "succeeded", execution.error
    customer = Customer.objects.get(pk="cus_1001")
    assert customer.segment == "at_risk"
    assert customer.metadata["dunning_invoice"] == "INV-2026-0042"
    assert customer.tags == ["annual", "dunning-card_declined"]


def test_update_customer_refuses_unknown_fields_on_save():
    with pytest.raises(Exception, match="steps.mark.config.fields"):
        services.create_automation({"name": "R", "trigger": {"type": "manual"}, "steps": [
            {"key": "mark", "type": "action", "action": "update_customer", "config": {"fields": {"balance": 0}}}]})


def test_sync_to_crm_upserts_the_customer_as_json(engine, http_server, settings):
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "CRM_PROVIDER": "automations.providers.crm.HTTPCRMProvider",
                            "CRM_OPTIONS": {"endpoint": f"{http_server.url}/crm", "token": "crm-token"}}
    execution = run_steps(engine, [{"key": "crm", "type": "action", "action": "sync_to_crm",
                                    "config": {"object": "customer", "fields": ["name", "email", "segment"]}}])
    assert execution.status == "succeeded", execution.error
    [request] = http_server.requests
    assert (request.method, request.path) == ("PUT", "/crm/customers/cus_1001")
    assert request.json() == {"id": "cus_1001", "name": "Acme Corp", "email": "billing@acme.example", "segment": "smb"}
    assert request.headers["authorization"] == "Bearer crm-token"
    assert request.headers["idempotency-key"] == f"{execution.pk}:crm:0"
    assert "crm-token" not in str(execution.step_runs.get().input) and MASK not in str(execution.outputs)


def test_sync_to_crm_needs_a_configured_crm(settings):
    settings.AUTOMATIONS = {}
    with pytest.raises(Exception, match="no CRM is configured"):
        services.create_automation({"name": "R", "trigger": {"type": "manual"}, "steps": [
            {"key": "crm", "type": "action", "action": "sync_to_crm", "config": {}}]})
