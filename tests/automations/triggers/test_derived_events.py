"""Derived events: renewal reminders, overdue invoices and usage thresholds, each emitted once."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from automations import clock, services
from automations.models import Execution
from billing_events.models import Customer, Event, Invoice, Subscription, UsageRecord

pytestmark = pytest.mark.django_db


def reminder(days_before: int):
    automation = services.create_automation({
        "name": f"Renewal reminder {days_before}d",
        "trigger": {"type": "event", "event": "subscription.ending_soon", "days_before": days_before},
        "conditions": {"all": [{"field": "subscription.current_period_end", "operator": "is_set"}]},
        "steps": [{"key": "mail", "type": "action", "action": "send_email", "config": {
            "to": "{{ customer.email }}",
            "subject": "Your {{ subscription.plan }} plan renews in {{ subscription.current_period_end | days_until }} days",
            "body": "Reminder sent {{ event.data.days_before }} days before."}}]})
    services.activate(automation)
    return automation


@pytest.fixture
def subscription():
    Customer.objects.create(id="cus_1", name="Ann", email="ann@example.com")
    return Subscription.objects.create(id="sub_1", customer_id="cus_1", plan="pro", status="active",
                                       current_period_end=clock.now() + timedelta(days=40))


def test_renewal_reminders_30_and_7_days_before_fire_once_each_per_period(engine, subscription):
    reminder(30)
    reminder(7)
    for _ in range(45):
        engine.advance(days=1)
    subjects = [m.subject for m in mail.outbox]
    assert subjects == ["Your pro plan renews in 30 days", "Your pro plan renews in 7 days"]
    assert Event.objects.filter(type="subscription.ending_soon").count() == 2

    subscription.refresh_from_db()
    subscription.current_period_end = clock.now() + timedelta(days=40)  # renewed: a new period
    subscription.save()
    for _ in range(45):
        engine.advance(days=1)
    assert [m.subject for m in mail.outbox][2:] == ["Your pro plan renews in 30 days", "Your pro plan renews in 7 days"]
    assert Execution.objects.count() == 4


def test_a_scan_that_runs_late_still_fires_but_a_new_automation_does_not_fire_weeks_late(engine, subscription):
    subscription.current_period_end = clock.now() + timedelta(days=6)
    subscription.save()
    reminder(7)
    reminder(30)
    engine.tick()
    assert [m.subject for m in mail.outbox] == ["Your pro plan renews in 6 days"]


def test_canceled_subscriptions_get_no_reminder(engine, subscription):
    Subscription.objects.filter(pk="sub_1").update(status="canceled")
    reminder(40)
    engine.tick()
    assert not mail.outbox


def test_overdue_invoices_are_reported_once(engine):
    services.activate(services.create_automation({
        "name": "Overdue", "trigger": {"type": "event", "event": "invoice.overdue"},
        "steps": [{"key": "t", "type": "action", "action": "create_task",
                   "config": {"title": "Chase {{ invoice.number }}"}}]}))
    Customer.objects.create(id="cus_1", name="Ann", email="ann@example.com")
    Invoice.objects.create(id="inv_late", customer_id="cus_1", number="INV-9", status="open",
                           due_date=date(2026, 11, 19), total=Decimal("10"), amount_due=Decimal("10"))
    Invoice.objects.create(id="inv_ok", customer_id="cus_1", number="INV-10", status="open",
                           due_date=date(2026, 11, 20), total=Decimal("10"), amount_due=Decimal("10"))
    Invoice.objects.create(id="inv_paid", customer_id="cus_1", number="INV-11", status="paid",
                           due_date=date(2026, 11, 1), total=Decimal("10"), amount_due=Decimal("0"))
    engine.tick()
    engine.advance(hours=2)
    assert list(Event.objects.filter(type="invoice.overdue").values_list("data__invoice__id", flat=True)) == ["inv_late"]
    engine.advance(days=1)
    assert sorted(Event.objects.filter(type="invoice.overdue").values_list("data__invoice__id", flat=True)) == [
        "inv_late", "inv_ok"]
    assert Execution.objects.count() == 2


def test_usage_thresholds_fire_once_per_period_and_threshold(engine):
    for threshold in (100, 120):
        services.activate(services.create_automation({
            "name": f"Usage {threshold}",
            "trigger": {"type": "event", "event": "usage.threshold_exceeded", "threshold_percent": threshold},
            "steps": [{"key": "t", "type": "action", "action": "create_task",
                       "config": {"title": "{{ customer.name }} over {{ event.data.threshold_percent | default('its') }}%"}}]}))
    Customer.objects.create(id="cus_1", name="Ann", email="ann@example.com")
    usage = UsageRecord.objects.create(customer_id="cus_1", metric="api_calls", period_start=date(2026, 11, 1),
                                       value=Decimal("90000"), threshold=Decimal("100000"))
    engine.tick()
    assert not Event.objects.filter(type="usage.threshold_exceeded").exists()
    usage.value = Decimal("110000")
    usage.save()
    engine.advance(hours=1)
    usage.value = Decimal("125000")
    usage.save()
    engine.advance(hours=1)
    engine.advance(hours=1)
    from automations.models import Task

    assert sorted(Task.objects.values_list("title", flat=True)) == ["Ann over 100%", "Ann over 120%"]
    UsageRecord.objects.create(customer_id="cus_1", metric="api_calls", period_start=date(2026, 12, 1),
                               value=Decimal("101000"), threshold=Decimal("100000"))
    engine.advance(hours=1)
    assert Task.objects.count() == 3, "a new period fires again"


def test_scans_run_at_most_once_per_interval(engine, subscription):
    reminder(40)
    engine.tick()
    engine.tick()
    from automations.models import DerivedScan

    assert DerivedScan.objects.get(name="subscription.ending_soon").last_emitted == 1
    assert len(mail.outbox) == 1
