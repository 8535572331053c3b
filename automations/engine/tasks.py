"""The django-q2 task entry points of the engine (queued by name through ``engine.queueing``).

A delayed execution resumes here: ``resume_executions`` claims its wake-up (waiting -> running,
``engine.transitions``) and runs it from its cursor (``engine.stored_run``).
"""
from __future__ import annotations

import logging
import time

from automations.conf import app_settings
from automations.engine.queueing import RESUME_EXECUTIONS, enqueue
from automations.engine.stored_run import run
from automations.engine.transitions import claim
from automations.models import Execution
from automations.status import ExecutionStatus
from automations.triggers.events import dispatch

logger = logging.getLogger("automations")


def resume_execution(execution_id: int, wait_token: int) -> None:
    """Run an execution from its cursor, if this wake-up is still its current one."""
    resume_executions([(execution_id, wait_token)])


def resume_executions(wake_ups: list[tuple[int, int]]) -> None:
    """Run several executions one after the other within one time budget; those the budget does
    not reach are queued again as a task of their own. One task per wake-up would cap the steps a
    cluster moves at the broker's tasks per second, however cheap the steps are."""
    _run_in_turn([(execution_id, wait_token, None) for execution_id, wait_token in wake_ups])


def dispatch_event(event_id: str) -> None:
    """Start the executions an event triggers and run them here, within the time budget.

    They are stored before they run, marked as queued: if this worker dies, the sweep queues them
    after REQUEUE_SECONDS, as it does for a lost task."""
    started = dispatch(event_id, queue=False)
    _run_in_turn([(execution.pk, execution.wait_token, execution) for execution in started])


def _run_in_turn(wake_ups: list[tuple[int, int, Execution | None]]) -> None:
    """Claim and run each wake-up in turn until the time budget is spent; queue the rest. An
    execution this task has just created is run from memory (nothing to read back)."""
    deadline = time.monotonic() + app_settings.TIME_BUDGET_SECONDS
    for index, (execution_id, wait_token, fresh) in enumerate(wake_ups):
        if index and time.monotonic() >= deadline:  # the first always runs: each task makes progress
            rest = [[pk, token] for pk, token, _ in wake_ups[index:]]
            enqueue(RESUME_EXECUTIONS, rest)
            return
        lease = claim(execution_id, wait_token)
        if lease is None:
            logger.debug("wake-up %s/%s is stale or already taken", execution_id, wait_token)
            continue
        if fresh is not None:
            fresh.status, fresh.lease_token = ExecutionStatus.RUNNING, lease
        run(execution_id, lease, deadline=deadline, fresh=fresh)
