"""A host project replaces the gateway and the SMS provider and adds an action by settings alone,
then runs a dunning automation end to end on its own billing models."""
from __future__ import annotations

import copy
from datetime import date

import pytest
from django.core import mail

from automations import library, services
from automations.actions import registry
from automations.actions.configured import register_configured_actions
from automations.models import Execution
from billing_events import emit
from tests.host_project.models import Account, Bill, Charge
from tests.host_project.providers import HostSMSProvider

pytestmark = pytest.mark.django_db


@pytest.fixture
def host(settings):
    settings.BILLING_EVENTS = {"BILLING_GATEWAY": "tests.host_project.gateway.HostGateway"}
    settings.AUTOMATIONS = {"SMS_PROVIDER": "tests.host_project.providers.HostSMSProvider",
                            "ACTIONS": ["tests.host_project.providers.FlagForCollections"]}
    register_configured_actions()
    HostSMSProvider.sent.clear()
    account = Account.objects.create(code="acct_7", display_name="Boulangerie Lune", contact_email="compta@lune.example",
                                     mobile="+33600000000", card_token="tok_bad")
    Bill.objects.create(reference="bill_77", account=account, total_cents=4999, due_cents=4999, due_on=date(2026, 11, 30))
    yield account
    registry.unregister("flag_for_collections")


def host_dunning():
    library.install_email_templates("payment_dunning")
    definition = copy.deepcopy(library.get_template("payment_dunning")["definition"])
    escalation = definition["steps"][2]["then"][1]["else"]
    escalation += [{"key": "has_phone", "type": "branch",  # a customer may have no phone number
                    "if": {"all": [{"field": "customer.phone", "operator": "is_set"}]},
                    "then": [{"key": "text", "type": "action", "action": "send_sms", "config": {
                        "to": "{{ customer.phone }}",
                        "message": "{{ invoice.number }}: {{ invoice.amount_due | money(invoice.currency) }} due"}}]},
                   {"key": "flag", "type": "action", "action": "flag_for_collections", "config": {"reason": "retry declined"}}]
    automation = services.create_automation(definition)
    services.activate(automation)
    return automation


def emit_failure():
    # The host sends only ids and what it knows; current data comes from its gateway.
    emit("payment.failed", {"customer": {"id": "acct_7"}, "invoice": {"id": "bill_77"},
                            "payment": {"id": "ch_x", "failure_message": "Do not honor"}}, id="host_evt_1")


def test_host_dunning_end_to_end(host, engine):
    host_dunning()
    engine.run(emit_failure)
    execution = Execution.objects.get()
    assert execution.status == "waiting"
    assert mail.outbox[0].to == ["compta@lune.example"]
    assert mail.outbox[0].subject == "We couldn't process your payment for BILL_77"
    assert "€49.99" in mail.outbox[0].body

    engine.advance(days=3)
    charge = Charge.objects.get()
    assert (charge.ok, charge.code, charge.idempotency_key) == (False, "do_not_honor", f"{execution.pk}:retry:0")
    assert [m.subject for m in mail.outbox][1] == "Action required: invoice BILL_77 is still unpaid"
    assert HostSMSProvider.sent == [("+33600000000", "BILL_77: €49.99 due")]
    host.refresh_from_db()
    assert host.collections_flag

    Bill.objects.filter(reference="bill_77").update(state="settled", due_cents=0)  # paid by bank transfer
    engine.advance(days=7)
    execution.refresh_from_db()
    assert execution.status == "succeeded" and execution.status_reason == "stopped at step paid_late"
    assert len(mail.outbox) == 2, "no final notice once the host says the bill is settled"


def test_host_retry_that_succeeds_settles_the_bill(host, engine):
    Account.objects.filter(code="acct_7").update(card_token="tok_good")
    host_dunning()
    engine.run(emit_failure)
    engine.advance(days=3)
    assert Bill.objects.get().state == "settled"
    assert Execution.objects.get().status_reason == "stopped at step recovered"
    assert len(mail.outbox) == 1 and not HostSMSProvider.sent
