"""The gateway is chosen by a setting and reads the reference models."""
from __future__ import annotations

from decimal import Decimal

import pytest

from billing_events import emit
from billing_events.gateway import BillingGateway, get_gateway
from billing_events.gateway.reference import ReferenceGateway
from tests.conftest import sample

pytestmark = pytest.mark.django_db


class EmptyGateway(BillingGateway):
    def get_customer(self, customer_id):
        return None


def test_reference_gateway_is_the_default_and_reads_current_data():
    emit("payment.failed", sample("payment.failed"))
    gateway = get_gateway()
    assert isinstance(gateway, ReferenceGateway)
    invoice = gateway.get_invoice("inv_2001")
    assert invoice["amount_due"] == Decimal("1250.00") and invoice["number"] == "INV-2026-0042"
    assert gateway.get_customer("cus_1001")["default_payment_method"] == "pm_card_declined"
    assert gateway.get_payment("pay_4001")["failure_code"] == "card_declined"
    assert gateway.get_subscription("missing") is None


def test_the_setting_selects_the_gateway(settings):
    settings.BILLING_EVENTS = {"BILLING_GATEWAY": "tests.billing_events.test_gateway.EmptyGateway"}
    assert isinstance(get_gateway(), EmptyGateway)


def test_a_gateway_that_is_not_one_is_refused(settings):
    settings.BILLING_EVENTS = {"BILLING_GATEWAY": "decimal.Decimal"}
    with pytest.raises(TypeError, match="must subclass BillingGateway"):
        get_gateway()


def test_an_unimportable_gateway_names_the_setting(settings):
    settings.BILLING_EVENTS = {"BILLING_GATEWAY": "nowhere.Gateway"}
    with pytest.raises(ImportError, match="BILLING_GATEWAY"):
        get_gateway()
