"""The transactions of a worker's run, step by step: the batcher.

A step costs at most one commit: its log row, its effect when that is a write in this database
(create_task; the billing actions, add_tag and update_customer with the reference gateway) and
the cursor move commit together, guarded by the worker's lease, so such a step happens exactly
once with nothing to recover; an error such an action reports commits with what it wrote on
purpose. Steps that go straight on — control steps and such local actions — share one commit with
the steps after them (up to ``STEPS_PER_COMMIT`` steps or ``SECONDS_PER_COMMIT``): all of them
commit, or none and the run goes on from the last commit (a :class:`Rewind`). Step-log rows, and
the history rows of the records local actions created, are inserted together when their
transaction commits: one statement each, whatever the number of steps.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction

from automations import clock
from automations.engine.transitions import LeaseLost
from automations.history import created_rows
from automations.models import StepRun
from automations.scope import to_json
from automations.status import StepRunStatus
from automations.steps import Next
from automations.steps.cursor import loop_index
from billing_events.sql import insert_rows

#: At most this many steps that go straight on share one commit, and for at most this long: the
#: transaction holds the row locks of what its steps changed (a customer's row) until it commits.
STEPS_PER_COMMIT = 20
SECONDS_PER_COMMIT = 0.2


class Rewind(Exception):
    """A step raised while the open transaction held the effects of the steps before it: all of
    them were rolled back, so the pass starts again from the last commit, one commit per step."""


@dataclass(kw_only=True)
class StepTransactions:
    """The batcher, mixed into a run that has ``execution``, ``cursor`` and ``now``."""

    #: False after a rewind: every step commits on its own for the rest of the pass.
    batching: bool = True
    #: The transaction the steps before the current one left open for its commit; whether it
    #: holds their effects (writes besides the log rows); how many steps and since when.
    _open: Any = None
    _keep_open: bool = False
    _effects: bool = False
    _steps_open: int = 0
    _opened_at: float = 0.0
    #: Log rows of the open transaction's steps, inserted together when it commits (kept for the
    #: next commit when it is rolled back without effects and the run goes on).
    _unsaved: list[StepRun] = field(default_factory=list)
    #: Records the open transaction's local actions created, whose history rows are written when
    #: it commits (see ``ActionContext.history_on_commit``).
    history_on_commit: list[models.Model] = field(default_factory=list)
    #: The key of the last step logged in this pass: where a run that now waits waits.
    last_logged: str = ""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The step's transaction: the one the steps before it left open, or a new one. Committed
        at the end unless the step keeps it open for the next one (``commit``); rolled back by an
        exception. An exception in a transaction that holds earlier steps' effects rolls them back
        too and raises :class:`Rewind`: the pass goes on from the last commit, a commit per step
        (rare, and cheaper than a savepoint around every step that writes)."""
        if self._open is None:
            self._open = transaction.atomic()
            self._open.__enter__()
            self._effects, self._steps_open, self._opened_at = False, 0, time.monotonic()
        self._keep_open = False
        marks = len(self._unsaved), len(self.history_on_commit)
        try:
            yield
        except BaseException as exc:
            del self._unsaved[marks[0]:], self.history_on_commit[marks[1]:]
            lost = self._effects
            self._close(*sys.exc_info())
            if lost and isinstance(exc, Exception) and not isinstance(exc, LeaseLost):
                raise Rewind() from exc
            raise
        self._steps_open += 1
        if not self._keep_open:
            self._close(None, None, None)

    def _close(self, *exc_info: Any) -> None:
        atomic, self._open = self._open, None
        if exc_info[0] is None:
            try:
                self._flush()
            except BaseException:
                atomic.__exit__(*sys.exc_info())
                raise
        atomic.__exit__(*exc_info)

    def _flush(self) -> None:
        """Insert the log rows waiting for this transaction's commit, in the order of their steps,
        and the history rows of the records its local actions created."""
        if self._unsaved:
            insert_rows(self._unsaved)
            self._unsaved = []
        if self.history_on_commit:
            records, self.history_on_commit = self.history_on_commit, []
            for model in dict.fromkeys(type(record) for record in records):
                insert_rows(created_rows([record for record in records if type(record) is model]))

    def abandon(self) -> None:
        """Roll back a transaction an unexpected exception left open."""
        if self._open is not None:
            self._close(RuntimeError, RuntimeError("the run stopped"), None)

    def log(self, step: dict[str, Any], status: str, *, attempt: int | None = None, output: Any = None,
            error: str = "", input: Any = None, index: str | None = None) -> StepRun:
        """A step-log row. A ``running`` row (an outside action's intent) is inserted at once: its
        unique key stops a second worker; the others are inserted when their transaction commits."""
        self.last_logged = step["key"]
        row = StepRun(
            execution=self.execution, step_key=step["key"], step_type=step["type"], action=step.get("action", ""),
            loop_index=loop_index(self.cursor) if index is None else index,
            attempt=self.cursor[-1].get("attempt", 1) if attempt is None else attempt, status=status, input=input,
            output=to_json(output), error=error, started_at=self.now,
            finished_at=None if status == StepRunStatus.RUNNING else clock.now(),
        )
        if status == StepRunStatus.RUNNING:
            self._flush()  # the log keeps the order of the steps
            row.save(force_insert=True)
        else:
            self._unsaved.append(row)
        return row

    def keep_open_for(self, outcome: Next, *, effects: bool = False) -> bool:
        """Whether a step's outcome may leave its transaction open for the next step's commit
        (whose guarded update proves the lease for both): it goes straight on and the batch is
        small and young. ``effects``: the step wrote something besides its log row."""
        goes_on = (outcome.status is None and outcome.waits_for is None
                   and (outcome.wake_at is None or outcome.wake_at <= clock.now()))
        if (goes_on and self.batching and self._steps_open + 1 < STEPS_PER_COMMIT
                and time.monotonic() - self._opened_at < SECONDS_PER_COMMIT):
            outcome.wake_at, self._keep_open = None, True
            self._effects = self._effects or effects
            return True
        return False
