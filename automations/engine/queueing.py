"""Queueing work for the worker cluster: the task names, and the one way to queue them.

Tasks carry only ids and tokens. They are queued when the surrounding transaction commits, so a
worker never looks for a row that is not visible yet (the Redis broker enqueues outside the database
transaction) and nothing is queued for a change that was rolled back. The task functions themselves
are in ``automations.engine.tasks`` (and ``automations.retention``), which this module never imports.
"""
from __future__ import annotations

from django.db import transaction
from django_q.tasks import async_task

#: Run one execution from its cursor (a wake-up: execution id, wake-up token).
RESUME_EXECUTION = "automations.engine.tasks.resume_execution"
#: Run several executions within one time budget (a list of [execution id, wake-up token]).
RESUME_EXECUTIONS = "automations.engine.tasks.resume_executions"
#: Start the executions an event triggers (event id).
DISPATCH_EVENT = "automations.engine.tasks.dispatch_event"
#: Delete what is older than RETENTION_DAYS, a batch at a time.
PRUNE = "automations.retention.prune_task"
#: Tell an approval request's approvers (request id, the rendered messages).
NOTIFY_APPROVERS = "automations.approvals.notify"
#: Replay a backtest for one time budget (backtest id, the chunk its checkpoint ends).
BACKTEST = "automations.backtest.tasks.run_backtest"
#: The tick: everything that is due (the recurring django-q2 schedule runs it).
TICK = "automations.engine.tick"

GROUP = "automations"


def enqueue(func: str, *args: object) -> None:
    """Queue ``func(*args)`` on the worker cluster once the current transaction commits (at once
    in autocommit)."""
    transaction.on_commit(lambda: async_task(func, *args, group=GROUP))


def queue_now(func: str, *args: object) -> None:
    """Queue ``func(*args)`` now, for a caller whose rows are already committed (the sweep, after
    its transaction; an event receiver, after the event's)."""
    async_task(func, *args, group=GROUP)
