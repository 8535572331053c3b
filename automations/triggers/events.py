"""Event triggers: an event starts the active automations that listen for its type."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from automations import clock
from automations.conf import app_settings
from automations.db import claim_first
from automations.engine.start import start_if_entered
from automations.models import Automation, Execution, SkippedStart
from automations.status import ExecutionStatus
from automations.steps.cursor import program_for
from automations.triggers import skips
from automations.triggers.exits import exit_executions
from automations.engine.event_waits import wake_waiters
from billing_events.models import Event

logger = logging.getLogger("automations")


def listening_automations(event_type: str):
    """Active automations whose trigger is ``event_type``, paused ones too (an indexed lookup):
    a paused one starts nothing, and the event records that it did not."""
    # The snapshot is read only when this process has not cached the version's program yet.
    return (Automation.objects.filter(trigger_event=event_type, active_version__isnull=False)
            .select_related("active_version").defer("active_version__snapshot"))


def trigger_matches(trigger: dict[str, Any], event: Event) -> bool:
    """Event-type parameters: ``days_before`` must equal the event's; ``threshold_percent`` must
    equal the event's when it names one, else the usage percent must reach it."""
    if "days_before" in trigger and "days_before" in event.data:
        return trigger["days_before"] == event.data["days_before"]
    if "threshold_percent" in trigger:
        if "threshold_percent" in event.data:
            return trigger["threshold_percent"] == event.data["threshold_percent"]
        percent = (event.data.get("usage") or {}).get("percent")
        return isinstance(percent, (int, float)) and percent >= trigger["threshold_percent"]
    return True


def dispatch(event_id: str, *, queue: bool = True) -> list[Execution]:
    """Start every execution ``event`` triggers; safe to run twice for one event. Returns those
    started; with ``queue=False`` the caller runs them (see ``start_execution``)."""
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        logger.warning("dispatch: event %s does not exist", event_id)
        return []
    exit_executions(event)  # first: an invoice.paid ends its dunning before anything else reacts
    wake_waiters(event)
    started, skipped = [], []
    for automation in listening_automations(event.type):
        version = automation.active_version
        if automation.is_paused:
            skipped.append(skips.paused(event, automation))
            continue
        trigger_rule = program_for(version).definition["trigger"]
        if not trigger_matches(trigger_rule, event):
            skipped.append(skips.trigger_mismatch(event, automation, trigger_rule))
            continue
        trigger = {"type": "event", "event_id": event.id, "event_type": event.type,
                   "occurred_at": event.occurred_at.isoformat()}
        execution = start_if_entered(automation, version, trigger=trigger, data=event.data, event=event, queue=queue)
        if execution is None:
            skipped.append(skips.not_started(event, automation, version, trigger))
        elif execution.status == ExecutionStatus.WAITING:
            started.append(execution)
    if any(skipped):
        # once per event and automation: a dispatch run again (by the sweep) records nothing new
        SkippedStart.objects.bulk_create([skip for skip in skipped if skip], ignore_conflicts=True)
    Event.objects.filter(pk=event.pk, dispatched_at__isnull=True).update(dispatched_at=clock.now())
    return started


def stale_dispatches(now: datetime, *, lost_before: datetime | None = None) -> QuerySet[Event]:
    """Events stored but not dispatched REDISPATCH_SECONDS after they came (their task was lost, or
    still waits in a long queue), and not taken by a drain within that time either; with
    ``lost_before``, every one that came before that moment (the broker may have lost its task)."""
    cutoff = now - timedelta(seconds=app_settings.REDISPATCH_SECONDS)
    if lost_before is not None:
        cutoff = max(cutoff, lost_before)
    return Event.objects.filter(dispatched_at__isnull=True, received_at__lte=cutoff).filter(
        Q(queued_at__isnull=True) | Q(queued_at__lte=cutoff))


def claim_stale_dispatch(*, lost_before: datetime | None = None) -> str | None:
    """The oldest stale dispatch (``stale_dispatches``), marked as taken for REDISPATCH_SECONDS so
    that other drains pass it over: its event id, or None. Dispatching it twice is harmless."""
    now = clock.now()
    stale = stale_dispatches(now, lost_before=lost_before)
    oldest = stale.order_by("received_at").values_list("pk", flat=True)
    return claim_first(oldest, lambda event_id: bool(stale.filter(pk=event_id).update(queued_at=now)))
