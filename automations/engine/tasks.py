"""The django-q2 tasks of the engine, and how they are queued.

Tasks carry only ids and tokens. They are queued when the surrounding transaction commits, so a
worker never looks for a row that is not visible yet (the Redis broker enqueues outside the database
transaction) and nothing is queued for a change that was rolled back.
"""
from __future__ import annotations

import logging
import time

from django.db import transaction
from django_q.tasks import async_task

from billing_events.conf import app_settings

logger = logging.getLogger("automations")


def enqueue(func: str, *args: object) -> None:
    """Queue ``func(*args)`` on the worker cluster once the current transaction commits."""
    transaction.on_commit(lambda: async_task(func, *args, group="automations"))


def resume_execution(execution_id: int, wait_token: int) -> None:
    """Run an execution from its cursor, if this wake-up is still its current one."""
    resume_executions([(execution_id, wait_token)])


def resume_executions(wake_ups: list[tuple[int, int]]) -> None:
    """Run several executions one after the other within one time budget; those the budget does
    not reach are queued again as a task of their own. One task per wake-up would cap the steps a
    cluster moves at the broker's tasks per second, however cheap the steps are."""
    from automations.engine.interpreter import run
    from automations.engine.transitions import claim

    deadline = time.monotonic() + app_settings.TIME_BUDGET_SECONDS
    for index, (execution_id, wait_token) in enumerate(wake_ups):
        if index and time.monotonic() >= deadline:  # the first always runs: each task makes progress
            rest = [list(pair) for pair in wake_ups[index:]]
            enqueue("automations.engine.tasks.resume_executions", rest)
            return
        lease = claim(execution_id, wait_token)
        if lease is None:
            logger.debug("wake-up %s/%s is stale or already taken", execution_id, wait_token)
            continue
        run(execution_id, lease, deadline=deadline)


def dispatch_event(event_id: str) -> None:
    """Start the executions an event triggers and run them here, within the time budget.

    They are stored before they run, marked as queued: if this worker dies, the sweep queues them
    after REQUEUE_SECONDS, as it does for a lost task."""
    from automations.triggers.events import dispatch

    started = dispatch(event_id, queue=False)
    resume_executions([(execution.pk, execution.wait_token) for execution in started])
