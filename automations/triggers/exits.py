"""exit_on: an event of a listed type with the same correlation value ends live executions at once."""
from __future__ import annotations

import logging

from automations.engine import transitions
from automations.engine.correlation import correlation_value
from automations.models import AutomationVersion, Execution
from automations.status import LIVE_STATUSES, VersionState
from billing_events.models import Event

logger = logging.getLogger("automations")


def exit_executions(event: Event) -> int:
    """Cancel every live execution whose version exits on ``event.type`` and whose correlation value
    the event shares. Returns how many were ended."""
    ended = 0
    # Every activated version counts: an execution runs the version it started on, even after a
    # newer one is active. Versions are few, and only their exit_on and correlation_key columns are
    # read (not the snapshots); executions are found through the correlation index.
    versions = (AutomationVersion.objects.filter(state__in=[VersionState.ACTIVE, VersionState.INACTIVE])
                .exclude(correlation_key="").exclude(exit_on=[]).only("pk", "exit_on", "correlation_key"))
    for version in versions:
        if event.type not in version.exit_on:
            continue
        value = correlation_value(version.correlation_key, event.data)
        if not value:
            continue
        live = Execution.objects.filter(version=version, correlation_value=value, status__in=LIVE_STATUSES)
        for pk in live.values_list("pk", flat=True):
            if transitions.cancel(pk, f"exit_on: {event.type} ({event.id}) for {value}"):
                logger.info("execution %s ended by %s %s", pk, event.type, event.id)
                ended += 1
    return ended
