"""The django-q2 task entry points of the engine (queued by name through ``engine.queueing``).

An execution runs here: a task claims its wake-up (waiting -> running, ``engine.transitions``) and
runs it from its cursor (``engine.stored_run``). A task that meets a database outage waits for the
database (``engine.outage``) and hands the run it held back as due, instead of failing.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from automations.conf import app_settings
from automations.engine import outage
from automations.engine.queueing import RESUME_EXECUTION, RESUME_EXECUTIONS, RUN_DUE, enqueue
from automations.engine.stored_run import run
from automations.engine.transitions import claim, claim_next_due, new_lease, release
from automations.models import Execution
from automations.status import ExecutionStatus
from automations.triggers.events import claim_stale_dispatch, dispatch

logger = logging.getLogger("automations")

T = TypeVar("T")


def resume_execution(execution_id: int, wait_token: int) -> None:
    """Run an execution from its cursor, if this wake-up is still its current one."""
    resume_executions([(execution_id, wait_token)])


def resume_executions(wake_ups: list[tuple[int, int]]) -> None:
    """Run several executions one after the other within one time budget; those the budget does
    not reach are queued again as a task of their own."""
    _Task().run_in_turn([(execution_id, wait_token, None) for execution_id, wait_token in wake_ups])


def dispatch_event(event_id: str) -> None:
    """Start the executions an event triggers and run them here, within the time budget.

    They are stored due and unclaimed before they run: if this worker dies, a drain runs them."""
    _Task().dispatch(event_id)


def run_due(lost_before: str | None = None) -> None:
    """A drain: claim what is due from the database, oldest first, and run it until the time
    budget is spent: dispatches that should have happened, then due wake-ups. If work is left
    when the budget is spent, one more drain is queued; when nothing is left, the drain ends.

    ``lost_before`` (ISO 8601): the broker came back and may have lost what was queued before
    then, so every dispatch still undone from before that moment is due at once."""
    task = _Task()
    lost = datetime.fromisoformat(lost_before) if lost_before else None
    while True:
        if task.spent():
            enqueue(RUN_DUE, lost_before)
            return
        event_id = task.with_database(lambda: claim_stale_dispatch(lost_before=lost))
        if event_id is not None:
            task.ran = True  # a dispatch is progress even when it starts nothing
            task.dispatch(event_id)
            continue
        lease = new_lease()
        execution_id = task.with_database(lambda: claim_next_due(lease))
        if execution_id is None:
            return
        task.run_claimed(execution_id, lease)


class _Task:
    """One task's time: its budget for running steps, and how long it may wait for the database."""

    def __init__(self) -> None:
        started = time.monotonic()
        self.deadline = started + app_settings.TIME_BUDGET_SECONDS
        self.give_up_at = outage.give_up_at(started)
        self.ran = False

    def spent(self) -> bool:
        """The budget is spent (the first run always goes ahead: each task makes progress)."""
        return self.ran and time.monotonic() >= self.deadline

    def dispatch(self, event_id: str) -> None:
        """Start the executions the event triggers and run them in turn."""
        started = self.with_database(lambda: dispatch(event_id, queue=False))
        self.run_in_turn([(execution.pk, execution.wait_token, execution) for execution in started])

    def run_in_turn(self, wake_ups: list[tuple[int, int, Execution | None]]) -> None:
        """Claim and run each wake-up in turn until the time budget is spent; queue the rest. An
        execution this task has just created is run from memory (nothing to read back)."""
        for index, (execution_id, wait_token, fresh) in enumerate(wake_ups):
            if self.spent():
                enqueue(RESUME_EXECUTIONS, [[pk, token] for pk, token, _ in wake_ups[index:]])
                return
            lease = new_lease()
            if self.with_database(lambda: claim(execution_id, wait_token, lease)) is None:
                logger.debug("wake-up %s/%s is stale or already taken", execution_id, wait_token)
                continue
            if fresh is not None:
                fresh.status, fresh.lease_token = ExecutionStatus.RUNNING, lease
            self.run_claimed(execution_id, lease, fresh)

    def run_claimed(self, execution_id: int, lease: str, fresh: Execution | None = None) -> None:
        self.ran = True
        try:
            run(execution_id, lease, deadline=self.deadline, fresh=fresh)
        except outage.DATABASE_DOWN:
            logger.warning("execution %s: the database went away during its run; waiting for it", execution_id)
            self._wait_for_database()
            # As after a crash, from its cursor: an attempt cut short is recovered by its key.
            token = release(execution_id, lease)
            if token is not None:
                enqueue(RESUME_EXECUTION, execution_id, token)

    def with_database(self, work: Callable[[], T]) -> T:
        """``work()``; if the database is down, again once it answers (``work`` must be safe to
        repeat: the claims and dispatches are guarded)."""
        while True:
            try:
                return work()
            except outage.DATABASE_DOWN:
                logger.warning("the database went away; waiting for it")
                self._wait_for_database()

    def _wait_for_database(self) -> None:
        if not outage.wait_for_database(self.give_up_at):
            # Past the task's time limit: fail it; the sweep takes over (lease expiry, drains).
            raise outage.DatabaseStillDown("the database did not come back within the task's time limit")
