"""Queueing work for the worker cluster: the task names, and the one way to queue them.

Tasks carry only ids and tokens. They are queued when the surrounding transaction commits, so a
worker never looks for a row that is not visible yet (the Redis broker enqueues outside the database
transaction) and nothing is queued for a change that was rolled back. With django-q2's ORM broker on
the default database a task can instead be written in the caller's own transaction, as a row of its
queue (``queued_row``): the event's dispatch is, so no crash between two commits can lose it. The
task functions themselves are in ``automations.engine.tasks`` (and ``automations.retention``), which
this module never imports.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.tasks import async_task

from automations.conf import app_settings

#: Run one execution from its cursor (a wake-up: execution id, wake-up token).
RESUME_EXECUTION = "automations.engine.tasks.resume_execution"
#: Run several executions within one time budget (a list of [execution id, wake-up token]).
RESUME_EXECUTIONS = "automations.engine.tasks.resume_executions"
#: Run due wake-ups and stale dispatches, oldest first, for one time budget (no arguments: the
#: work is claimed from the database, so a lost task strands nothing).
RUN_DUE = "automations.engine.tasks.run_due"
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


def task_options() -> dict[str, Any]:
    """What every engine task is queued with: its group, and whether django-q2 stores its result
    when it succeeds (``KEEP_TASK_RESULTS``)."""
    return {"group": GROUP, "save": app_settings.KEEP_TASK_RESULTS}


def enqueue(func: str, *args: object) -> None:
    """Queue ``func(*args)`` on the worker cluster once the current transaction commits (at once
    in autocommit)."""
    transaction.on_commit(lambda: async_task(func, *args, **task_options()))


def queue_now(func: str, *args: object) -> None:
    """Queue ``func(*args)`` now, for a caller whose rows are already committed (the sweep, after
    its transaction; an event receiver, after the event's)."""
    async_task(func, *args, **task_options())


def tasks_waiting() -> int:
    """How many tasks wait in the broker's queue, not yet taken by a worker."""
    return 0 if Conf.SYNC else get_broker().queue_size()


class _Packed(Exception):
    """Carries the signed task package out of ``async_task`` (see :class:`_Capture`)."""

    def __init__(self, package: str) -> None:
        super().__init__()
        self.package = package


class _Capture(Broker):
    """A broker whose ``enqueue()`` hands the signed package back instead of queueing it.

    It raises rather than returns, which stops ``async_task`` before its "Enqueued" log line: the
    task is not queued until the caller's transaction commits, if it ever does.
    """

    @staticmethod
    def get_connection(list_key: str | None = None) -> None:
        return None

    def enqueue(self, task: str) -> None:
        raise _Packed(task)


@lru_cache(maxsize=1)
def _broker_type() -> type[Broker]:
    return type(get_broker())  # the settings are read once, at import: so is the broker's type


def queued_row(func: str, *args: object) -> OrmQ | None:
    """``func(*args)`` as a row of django-q2's queue, for the caller to insert in its own transaction,
    exactly as the ORM broker's ``enqueue()`` would (key, signed package, lock); None unless that
    broker queues on the default database (not Redis, not ``sync`` mode, where tasks run inline)."""
    if Conf.SYNC or Conf.ORM != DEFAULT_DB_ALIAS or not issubclass(_broker_type(), ORM):
        return None
    capture = _Capture()
    try:
        async_task(func, *args, **task_options(), broker=capture)  # django-q2 builds and signs the package
    except _Packed as packed:
        return OrmQ(key=capture.list_key, payload=packed.package, lock=timezone.now())
    raise RuntimeError("django-q2 did not hand the task to its broker")
