"""The django-q2 tasks of the engine, and how they are queued.

Tasks carry only ids and tokens. They are queued when the surrounding transaction commits, so a
worker never looks for a row that is not visible yet (the Redis broker enqueues outside the database
transaction) and nothing is queued for a change that was rolled back.
"""
from __future__ import annotations

import logging

from django.db import transaction
from django_q.tasks import async_task

logger = logging.getLogger("automations")


def enqueue(func: str, *args: object) -> None:
    """Queue ``func(*args)`` on the worker cluster once the current transaction commits."""
    transaction.on_commit(lambda: async_task(func, *args, group="automations"))


def resume_execution(execution_id: int, wait_token: int) -> None:
    """Run an execution from its cursor, if this wake-up is still its current one."""
    from automations.engine.interpreter import run
    from automations.engine.transitions import claim

    lease = claim(execution_id, wait_token)
    if lease is None:
        logger.debug("wake-up %s/%s is stale or already taken", execution_id, wait_token)
        return
    run(execution_id, lease)


def dispatch_event(event_id: str) -> None:
    """Start the executions an event triggers."""
    from automations.triggers.events import dispatch

    dispatch(event_id)
