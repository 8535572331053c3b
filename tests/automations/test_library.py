"""The templates library: every template is a valid definition and passes its own test-mode run."""
from __future__ import annotations

import re

import pytest
from django.core import mail

from automations import library, services
from automations.models import EmailTemplate, Execution
from billing_events.models import Customer, UsageRecord
from automations.definition.serialize import definition_of

pytestmark = pytest.mark.django_db

EXPECTED = {"payment_dunning", "welcome_series", "renewal_reminder", "usage_alert", "win_back", "write_off"}


def test_the_library_has_the_six_templates():
    assert set(library.template_keys()) == EXPECTED


def problems(timeline: list[dict]) -> list[dict]:
    """Steps that failed, but for a payment the sample customer's card declines (as a live run's would)."""
    return [entry for entry in timeline if "error" in entry
            and not (entry.get("action") == "retry_payment" and entry["error"].startswith("payment declined"))]


def instantiated(key: str):
    automation = library.instantiate(key)
    if key == "usage_alert":  # its sample is the billing data it scans
        Customer.objects.create(id="cus_1", name="Ann", email="ann@example.com")
        UsageRecord.objects.create(customer_id="cus_1", metric="api_calls", period_start="2026-11-01",
                                   value=130000, threshold=100000)
    return automation


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_each_template_instantiates_as_a_draft_and_runs_in_test_mode(key):
    automation = instantiated(key)
    assert automation.status == "draft" and automation.draft_version.number == 1
    for template in library.get_template(key)["email_templates"]:
        assert EmailTemplate.objects.filter(key=template["key"]).exists()
    result = services.test_run(automation)
    assert result["status"] in ("succeeded", "canceled"), result
    assert result["entered"] and result["timeline"], result
    assert not problems(result["timeline"]), result["timeline"]
    emails = [entry["would"] for entry in result["timeline"] if entry.get("action") == "send_email"]
    assert emails and all(email["subject"] and email["to"] for email in emails)
    assert not mail.outbox and not Execution.objects.exists()


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_each_template_passes_test_every_path(key):
    """Every path of every template runs to its end, or fails only where its scenario made a step
    fail: no path stops on a field that is not there or a template that does not render."""
    found = services.test_every_path(instantiated(key))
    assert found["paths"]
    for path in found["paths"]:
        failing = {step for step, outcomes in path["scenario"]["outcomes"].items()
                   if set(outcomes) - {"pays", "succeeds"}}
        if path["status"] == "failed":
            assert path["error"].split(":")[0].removeprefix("step ") in failing, path
        assert all(message.get("subject") or message.get("text") or message.get("title") for message in path["messages"])
    assert not mail.outbox and not Execution.objects.exists()


def test_instantiating_keeps_edited_email_templates(db):
    library.install_email_templates("welcome_series")
    EmailTemplate.objects.filter(key="welcome_day0").update(subject="Edited")
    library.instantiate("welcome_series")
    assert EmailTemplate.objects.get(key="welcome_day0").subject == "Edited"


def test_welcome_series_timeline(db):
    automation = library.instantiate("welcome_series")
    timeline = services.test_run(automation)["timeline"]
    assert [(entry["step"], entry["day"]) for entry in timeline if entry["type"] == "action"] == [
        ("welcome", 0), ("tips", 2), ("check_in", 7)]


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_each_template_reads_well_without_a_customer_name(key):
    automation = library.instantiate(key)
    data = services.sample_data(definition_of(automation.draft_version))
    if "customer" in data:
        data["customer"]["name"] = None
    if key == "usage_alert":
        Customer.objects.create(id="cus_1", name="", email="ann@example.com")
        UsageRecord.objects.create(customer_id="cus_1", metric="api_calls", period_start="2026-11-01",
                                   value=130000, threshold=100000)
    timeline = services.test_run(automation, data)["timeline"]
    assert not problems(timeline), timeline
    warnings = [warning for entry in timeline for warning in entry.get("warnings", [])]
    assert not [warning for warning in warnings if warning.startswith("customer.name")], warnings
    emails = [entry["would"] for entry in timeline if entry.get("action") == "send_email"]
    assert emails and all(email["body"].startswith("Hi there,") for email in emails), emails
    assert not [email["subject"] for email in emails if re.search(r",\s*[!?]|,\s*$|\s[!?]$", email["subject"])]
    tasks = [entry["would"]["would_create_task"]["title"] for entry in timeline if entry.get("action") == "create_task"]
    assert all(title.strip() and not title.startswith(" ") and "  " not in title for title in tasks), tasks


def test_the_dunning_asks_for_a_new_card_when_the_card_cannot_be_charged_again(db):
    """A decline for good, or one asking for new card details, takes the update-your-payment-method
    email with the invoice's payment link, not the urgent notice; a soft decline the urgent one."""
    automation = library.instantiate("payment_dunning")
    for outcome, sent in (("hard_decline", "update_card"), ("credentials_decline", "update_card"),
                          ("soft_decline", "urgent")):
        result = services.test_run(automation, outcomes={"retry": [outcome]})
        emails = {entry["step"]: entry["would"] for entry in result["timeline"] if entry.get("action") == "send_email"}
        assert sent in emails and ({"update_card", "urgent"} - {sent}).isdisjoint(emails), (outcome, list(emails))
        if sent == "update_card":
            assert emails["update_card"]["subject"] == "Please update your payment method for invoice INV-2026-0042"
            assert "https://billing.example/pay/inv_2001" in emails["update_card"]["body"]
    paths = services.test_every_path(automation)["paths"]
    assert any("update_card" in {message.get("step") for message in path["messages"]} for path in paths)
