"""Starting an execution: entry conditions, then a new execution queued to run at once."""
from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Any

from django.db import IntegrityError, connection, transaction

from automations import clock
from automations.conditions import ConditionError, Outcome, evaluate
from automations.correlation import correlation_value
from automations.engine.queueing import RESUME_EXECUTION, enqueue
from automations.models import Automation, AutomationVersion, Execution
from automations.scope import Scope, UnstoredRun, build_scope
from automations.status import ExecutionStatus, Reentry
from automations.steps.cursor import initial_cursor, program_for
from billing_events.models import Event

logger = logging.getLogger("automations")


def entry_scope(automation: Automation, trigger: dict[str, Any], data: dict[str, Any]) -> Scope:
    return build_scope(UnstoredRun(automation.pk, trigger, data, started_at=clock.now()), now=clock.now())


def check_entry(version: AutomationVersion, scope: Scope) -> Outcome:
    """Whether the automation's conditions let a run start (ConditionError if they cannot be evaluated)."""
    return evaluate(program_for(version).definition.get("conditions"), scope.resolve)


def start_execution(automation: Automation, version: AutomationVersion, *, trigger: dict[str, Any],
                    data: dict[str, Any], event: Event | None = None, user: Any = None,
                    error: str = "", slot_key: str | None = None, queue: bool = True) -> Execution | None:
    """Create an execution of ``version`` and queue it to run now; None when none may start.
    With ``queue=False`` the caller runs it (it is marked as queued all the same, so the sweep
    queues it only when the caller died before it ran).

    Unique constraints decide, so concurrent starts cannot both win: one execution per automation
    and event (a redelivered dispatch starts nothing), one per schedule slot, and the version's ``reentry`` rule per
    correlation value (``skip_if_running``: none while another is live; ``once``: never again).
    With ``error``, the execution is stored as failed at once (its entry conditions could not be
    evaluated), so the problem is visible.
    """
    now = clock.now()
    definition = program_for(version).definition
    correlation = correlation_value(definition.get("correlation_key", ""), data)
    reentry = definition.get("reentry", Reentry.ALLOW)
    trigger = {**trigger, "automation_name": automation.name, "version": version.number}
    values = dict(automation=automation, version=version, trigger=trigger, data=data, event=event,
                  correlation_value=correlation, created_by=user if getattr(user, "pk", None) else None,
                  cursor=initial_cursor(), started_at=now, slot_key=slot_key)
    if error:
        values.update(status=ExecutionStatus.FAILED, error=error, finished_at=now)
    else:
        values.update(status=ExecutionStatus.WAITING, wake_at=now, wait_token=1,
                      live_key=correlation if correlation and reentry == Reentry.SKIP_IF_RUNNING else None,
                      once_key=correlation if correlation and reentry == Reentry.ONCE else None)
    try:
        # Inside a caller's transaction, a savepoint keeps it usable after a refused insert;
        # alone, the insert is its own transaction.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            execution = Execution.objects.create(**values)
    except IntegrityError:
        existing = Execution.objects.filter(automation=automation)
        if (event is not None and existing.filter(event=event).exists()) or (
                slot_key and existing.filter(slot_key=slot_key).exists()) or (
                values.get("live_key") and existing.filter(live_key=values["live_key"]).exists()) or (
                values.get("once_key") and existing.filter(once_key=values["once_key"]).exists()):
            logger.info("%s: not started for %r (reentry %s, or event already handled)", automation, correlation,
                        reentry)
            return None
        raise
    if not error and queue:
        enqueue(RESUME_EXECUTION, execution.pk, execution.wait_token)
    return execution


def start_if_entered(automation: Automation, version: AutomationVersion, *, trigger: dict[str, Any],
                     data: dict[str, Any], event: Event | None = None, user: Any = None,
                     slot_key: str | None = None, queue: bool = True) -> Execution | None:
    """Start an execution if the entry conditions hold; an evaluation error starts a failed one."""
    try:
        entered = check_entry(version, entry_scope(automation, trigger, data))
    except ConditionError as exc:
        return start_execution(automation, version, trigger=trigger, data=data, event=event, user=user,
                               error=f"conditions: {exc}", slot_key=slot_key)
    if not entered.passed:
        return None
    return start_execution(automation, version, trigger=trigger, data=data, event=event, user=user,
                           slot_key=slot_key, queue=queue)
