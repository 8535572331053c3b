"""Loops over billing collections: filtered through the gateway, page by page."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from automations import services
from automations.steps import loop
from automations.models import Execution, Task
from billing_events.models import Customer, UsageRecord

pytestmark = pytest.mark.django_db

USAGE_ALERT = {
    "name": "Usage alert",
    "trigger": {"type": "schedule", "schedule": {"kind": "cron", "expression": "0 8 * * *", "timezone": "UTC"}},
    "steps": [{"key": "over_limit", "type": "loop", "as": "customer", "over": {
        "collection": "customers", "where": {"all": [{"field": "usage.percent", "operator": "greater_than", "value": 100}]}},
        "steps": [
            {"key": "alert", "type": "action", "action": "send_email", "config": {
                "to": "{{ customer.email }}",
                "subject": "You have used {{ usage.percent | round | int }}% of your {{ usage.metric }} allowance",
                "body": "{{ usage.value | int }} of {{ usage.threshold | int }} {{ usage.metric }} this month."}},
            {"key": "way_over", "type": "branch",
             "if": {"all": [{"field": "usage.percent", "operator": "greater_than", "value": 120}]},
             "then": [{"key": "tell_am", "type": "action", "action": "create_task", "config": {
                 "title": "{{ customer.name }} is at {{ usage.percent | round | int }}% of {{ usage.metric }}",
                 "assignee": "{{ customer.metadata.account_manager | default('account-management') }}", "priority": "high"}}]},
        ]}],
}


@pytest.fixture
def customers():
    """450 customers; 5 at 110% of their allowance and 3 at 130%, the rest at 50%."""
    Customer.objects.bulk_create(Customer(id=f"cus_{n:04d}", name=f"Customer {n}", email=f"c{n}@example.com",
                                          metadata={"account_manager": "dana"}) for n in range(450))
    percent = {**{n: 110 for n in (3, 150, 220, 401, 449)}, **{n: 130 for n in (10, 250, 300)}}
    UsageRecord.objects.bulk_create(
        UsageRecord(customer_id=f"cus_{n:04d}", metric="api_calls", period_start=date(2026, 11, 1),
                    value=Decimal(percent.get(n, 50) * 1000), threshold=Decimal(100000)) for n in range(450))


def test_usage_alert_emails_everyone_over_100_and_tasks_for_over_120(engine, customers, monkeypatch):
    monkeypatch.setattr(loop, "PAGE_SIZE", 100)  # five pages
    services.activate(services.create_automation(USAGE_ALERT))
    engine.advance(hours=22)  # 08:00 next day
    execution = Execution.objects.get()
    assert execution.status == "succeeded", execution.error
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        f"c{n}@example.com" for n in (3, 10, 150, 220, 250, 300, 401, 449))
    assert "You have used 130% of your api_calls allowance" in [m.subject for m in mail.outbox]
    assert sorted(Task.objects.values_list("title", flat=True)) == [
        "Customer 10 is at 130% of api_calls", "Customer 250 is at 130% of api_calls",
        "Customer 300 is at 130% of api_calls"]
    assert set(Task.objects.values_list("assignee", flat=True)) == {"dana"}
    indexes = list(execution.step_runs.filter(step_key="alert").values_list("loop_index", flat=True))
    assert indexes == [str(n) for n in range(8)], "positions count across pages"


def test_a_scan_with_no_match_ends_quietly(engine, customers):
    definition = {**USAGE_ALERT, "trigger": {"type": "manual"}}
    definition["steps"] = [{**USAGE_ALERT["steps"][0], "over": {"collection": "customers", "where": {"all": [
        {"field": "usage.percent", "operator": "greater_than", "value": 1000}]}}}]
    automation = services.create_automation(definition)
    services.activate(automation)
    execution = engine.run(services.run_manual, automation, {})
    execution.refresh_from_db()
    assert execution.status == "succeeded" and not mail.outbox


def test_max_items_caps_a_collection_loop(engine, customers):
    definition = {"name": "All", "trigger": {"type": "manual"}, "steps": [
        {"key": "each", "type": "loop", "over": {"collection": "customers"}, "as": "customer", "max_items": 250,
         "steps": [{"key": "t", "type": "action", "action": "add_tag", "config": {"tag": "reviewed"}}]}]}
    automation = services.create_automation(definition)
    services.activate(automation)
    execution = engine.run(services.run_manual, automation, {})
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert sum("reviewed" in customer.tags for customer in Customer.objects.all()) == 250


def test_collection_loop_in_test_mode(customers):
    automation = services.create_automation(USAGE_ALERT)
    result = services.test_run(automation)
    steps = [e["step"] for e in result["timeline"]]
    assert steps.count("alert") == 8 and steps.count("tell_am") == 3
    assert not mail.outbox and not Task.objects.exists()
