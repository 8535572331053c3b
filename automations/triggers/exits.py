"""exit_on: an event of a listed type with the same correlation value ends live executions at once."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from automations.engine import transitions
from automations.correlation import correlation_value
from automations.models import Execution, ExitRule
from automations.status import LIVE_STATUSES
from billing_events.models import Event

logger = logging.getLogger("automations")


def run_origin(started_at: datetime, trigger: dict[str, Any]) -> datetime:
    """When a run began in the billing system's time: its triggering event's ``occurred_at``, or
    (manual and scheduled runs) when it started."""
    occurred = parse_datetime(trigger.get("occurred_at") or "") if isinstance(trigger, dict) else None
    return occurred or started_at


def exit_executions(event: Event) -> int:
    """Cancel every live execution whose version exits on ``event.type``, whose correlation value
    the event shares, and which began no later than the event occurred: an exit event delivered
    again, or late, leaves the runs started after it alone. Returns how many were ended."""
    ended = 0
    # Every activated version counts (an execution runs the version it started on, even after a
    # newer one is active): their rules are found by the event's type, executions through the
    # correlation index.
    rules = ExitRule.objects.filter(event_type=event.type).values_list("version_id", "correlation_key")
    for version_id, correlation_key in rules:
        value = correlation_value(correlation_key, event.data)
        if not value:
            continue
        live = Execution.objects.filter(version_id=version_id, correlation_value=value, status__in=LIVE_STATUSES)
        for pk, started_at, trigger in live.values_list("pk", "started_at", "trigger"):
            if run_origin(started_at, trigger) > event.occurred_at:
                logger.info("execution %s began after %s %s occurred; left running", pk, event.type, event.id)
                continue
            if transitions.cancel(pk, f"exit_on: {event.type} ({event.id}) for {value}"):
                logger.info("execution %s ended by %s %s", pk, event.type, event.id)
                ended += 1
    return ended
