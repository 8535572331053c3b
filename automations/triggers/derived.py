"""Derived events: events the product raises itself from billing data, for hosts that don't send
them. Each has a deterministic id, so however often a scan runs, each is emitted (and starts
executions) once:

- ``subscription.ending_soon``: once per subscription period and ``days_before`` that an active
  automation asks for, when the period end is that many days away (or up to two days less, so a
  scan that runs late still fires);
- ``invoice.overdue``: once per open invoice past its due date;
- ``usage.threshold_exceeded``: once per customer, metric, billing period and ``threshold_percent``.

``credits.depleted`` comes from the gateway's operations when a balance reaches zero.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from automations.conf import app_settings
from automations.models import Automation, DerivedScan
from billing_events import emit
from billing_events.gateway import BillingGateway, get_gateway
from billing_events.payloads import as_event_entity

logger = logging.getLogger("automations")
LATE_GRACE_DAYS = 2
DEFAULT_DAYS_BEFORE = 7
DEFAULT_THRESHOLD_PERCENT = 100


def _listening_triggers(event_type: str) -> list[dict[str, Any]]:
    """The triggers of active automations that start on ``event_type`` (scan only when there are)."""
    automations = Automation.objects.filter(trigger_event=event_type, is_paused=False,
                                            active_version__isnull=False).select_related("active_version")
    return [automation.active_version.snapshot["trigger"] for automation in automations]


def _parameters(event_type: str, name: str, default: float) -> set:
    return {trigger.get(name, default) for trigger in _listening_triggers(event_type)}


def _pages(gateway: BillingGateway, collection: str) -> Iterator[dict[str, Any]]:
    after = None
    while True:
        records, after = gateway.list_collection(collection, after=after, limit=500)
        yield from records
        if not after:
            return


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        parsed = parse_datetime(value) if "T" in value else parse_date(value)
        return parsed.date() if isinstance(parsed, datetime) else parsed
    return None


def _customer(gateway: BillingGateway, customer_id: str) -> dict[str, Any]:
    return as_event_entity(gateway.get_customer(customer_id) or {"id": customer_id})


def _emit(event_type: str, event_id: str, data: dict[str, Any]) -> bool:
    event = emit(event_type, data, id=event_id)
    return event.created


def scan_ending_soon(gateway: BillingGateway, today: date) -> int:
    days = sorted(_parameters("subscription.ending_soon", "days_before", DEFAULT_DAYS_BEFORE))
    emitted = 0
    if not days:
        return 0
    for subscription in _pages(gateway, "subscriptions"):
        end = _as_date(subscription.get("current_period_end"))
        if end is None or subscription.get("status") not in ("active", "trialing", "past_due"):
            continue
        left = (end - today).days
        for before in days:
            if before - LATE_GRACE_DAYS <= left <= before and left >= 0:
                emitted += _emit("subscription.ending_soon",
                                 f"evt_ending_soon_{subscription['id']}_{end:%Y%m%d}_{before}",
                                 {"customer": _customer(gateway, subscription.get("customer_id", "")),
                                  "subscription": as_event_entity(subscription), "days_before": before})
    return emitted


def scan_overdue(gateway: BillingGateway, today: date) -> int:
    if not _listening_triggers("invoice.overdue"):
        return 0
    emitted = 0
    for invoice in _pages(gateway, "invoices"):
        due = _as_date(invoice.get("due_date"))
        if invoice.get("status") == "open" and due is not None and due < today:
            emitted += _emit("invoice.overdue", f"evt_overdue_{invoice['id']}_{due:%Y%m%d}",
                             {"customer": _customer(gateway, invoice.get("customer_id", "")),
                              "invoice": as_event_entity(invoice)})
    return emitted


def scan_usage(gateway: BillingGateway, today: date) -> int:
    thresholds = sorted(_parameters("usage.threshold_exceeded", "threshold_percent", DEFAULT_THRESHOLD_PERCENT))
    emitted = 0
    if not thresholds:
        return 0
    for usage in _pages(gateway, "usage"):
        percent = float(usage["percent"])
        for threshold in thresholds:
            if percent >= threshold:
                period = usage.get("period_start") or "current"
                emitted += _emit(
                    "usage.threshold_exceeded",
                    f"evt_usage_{usage['customer_id']}_{usage['metric']}_{period}_{threshold}",
                    {"customer": _customer(gateway, usage["customer_id"]), "threshold_percent": threshold,
                     "usage": {"metric": usage["metric"], "value": float(usage["value"]),
                               "threshold": float(usage["threshold"]), "percent": round(percent, 2)}})
    return emitted


SCANS: dict[str, Callable[[BillingGateway, date], int]] = {
    "subscription.ending_soon": scan_ending_soon,
    "invoice.overdue": scan_overdue,
    "usage.threshold_exceeded": scan_usage,
}


def run_due_scans(now: datetime) -> int:
    """Run each scan whose time has come; returns how many events they emitted."""
    interval = timedelta(minutes=app_settings.DERIVED_SCAN_MINUTES)
    emitted = 0
    for name, scan in SCANS.items():
        if not DerivedScan.claim(name, now, interval):
            continue
        count = scan(get_gateway(), now.date())
        DerivedScan.objects.filter(name=name).update(last_emitted=count)
        emitted += count
    return emitted
