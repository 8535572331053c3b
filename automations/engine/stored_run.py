"""The worker's run of a stored execution: the run loop's backend that writes.

Consecutive steps run inline in one worker task; only a delay, a retry wait or the end of the
time budget hands the execution back (as a wake-up), so no worker is ever held by a wait. What
goes on in the run is each in a module of its own: the loop (``run_loop``), the transactions the
steps commit in (``step_transactions``), performing an action step (``performing``), the kinds of
wait (``wait_kinds``). The execution's state stays in memory across the steps
of a pass, and billing data is read once per pass and again only after an action that changed
it. A waiting execution resumes here: a task claims its wake-up (``engine.tasks``) and calls
``run``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from automations import clock
from automations.conf import app_settings
from automations.engine import performing, run_loop, wait_kinds
from automations.engine.loop_items import StoredItems
from automations.engine.queueing import RESUME_EXECUTION, enqueue
from automations.engine.step_transactions import Rewind, StepTransactions
from automations.engine.transitions import LeaseLost, finish, save_progress, wait
from automations.models import Execution
from automations.scope import Scope, build_scope, to_json
from automations.status import ExecutionStatus
from automations.steps import Next
from automations.steps.cursor import Program, loop_variables, program_for, wait_state

logger = logging.getLogger("automations")


@dataclass
class StoredRun(StepTransactions):
    """One worker's pass over a stored execution (the run loop's backend)."""

    execution: Execution
    lease: str
    program: Program
    cursor: list[dict[str, Any]]
    outputs: dict[str, Any]
    now: datetime = field(default_factory=clock.now)
    #: When the pass hands the execution back (``time.monotonic()``).
    deadline: float = 0.0
    #: True for the first step of a worker's pass, the only one a dead worker can have left
    #: mid-attempt: later steps follow this worker's own commits.
    resumed: bool = True
    #: What the gateway answered during this pass (see ``Scope``); cleared after an action that
    #: changed billing data.
    billing: dict[str, Any] = field(default_factory=dict)
    #: The loops' items: rows written once, read once per pass (``engine.loop_items``).
    _items: StoredItems | None = None

    def scope(self) -> Scope:
        self.execution.outputs = self.outputs
        return build_scope(self.execution, now=self.now, loop_vars=loop_variables(self.cursor, self.loop_items),
                           billing=self.billing)

    def perform(self, step: dict[str, Any]) -> Next:
        return performing.perform(self, step)

    def wait_result(self, step: dict[str, Any]) -> Any:
        return wait_kinds.result(self.execution, self.cursor, step, self.now)

    def keep_items(self, step: dict[str, Any], items: list[Any], *, index: str, offset: int) -> int:
        # An effect of the step's: rolled back with a later step of its batch, it takes the run back
        # to the last commit (a rewind) rather than on in a loop whose items are gone.
        self._effects = True
        return self._stored_items().keep(self.cursor, step["key"], items, index=index, offset=offset)

    def loop_items(self, ref: int) -> list[Any]:
        return self._stored_items().get(ref)

    def _stored_items(self) -> StoredItems:
        if self._items is None:
            self._items = StoredItems(self.execution)
        return self._items

    def atomic(self) -> Any:
        return self.transaction()

    def commit(self, outcome: Next, *, effects: bool = False) -> None:
        """Store the step's outcome, now or with the next step's commit (``keep_open_for``)."""
        if not self.keep_open_for(outcome, effects=effects):
            self.store(outcome)

    def goes_on(self, outcome: Next) -> bool:
        return outcome.wake_at is None and outcome.status is None and outcome.waits_for is None

    def carry_on(self) -> bool:
        if time.monotonic() >= self.deadline:
            self.hand_back()  # rather than outlive the task's timeout
            return False
        return True

    def next_step(self) -> None:
        # Only the first step of a pass reads the execution: after it, the cursor and outputs in
        # memory are what the last commit stored, and every commit is guarded by the lease (a
        # cancel or a takeover in between raises LeaseLost there, before any action runs).
        self.now, self.resumed = clock.now(), False

    def store(self, outcome: Next) -> None:
        """Store the cursor and outputs with the outcome (inside the caller's transaction)."""
        fields = {"cursor": self.cursor, "outputs": to_json(self.outputs)}
        self.outputs = fields["outputs"]  # as the next step would read them back from the row
        if outcome.status:
            finish(self.execution.pk, self.lease, outcome.status, error=outcome.error, reason=outcome.reason,
                   **fields)
        elif outcome.waits_for is not None or (outcome.wake_at and outcome.wake_at > clock.now()):
            # a wait with something to wait for besides the time may have no wake-up at all (an
            # approval without a timeout) or one already due (a drain then resumes it at once)
            token = wait(self.execution.pk, self.lease, outcome.wake_at, waiting_at=self.waiting_at(), **fields)
            if outcome.waits_for is not None:
                wait_kinds.begin(self.execution, token, outcome.waits_for, self.cursor,
                                 self.program.definition.get("correlation_key", ""))
        else:
            outcome.wake_at = None  # a wait that is already over: carry on at once
            save_progress(self.execution.pk, self.lease, **fields)

    def waiting_at(self) -> str:
        """The step the run waits at: the one its wait names (an event, a decision), else the last
        it logged (a delay, a failed attempt before its retry, a held message)."""
        return wait_state(self.cursor).get("step") or self.last_logged or self.execution.waiting_at

    def hand_back(self) -> None:
        """Queue a continuation of the run (due now) and let this worker go."""
        with self.transaction():
            # the cursor too: control steps may have moved it since the last commit
            token = wait(self.execution.pk, self.lease, clock.now(), cursor=self.cursor,
                         outputs=to_json(self.outputs), waiting_at=self.waiting_at())
            enqueue(RESUME_EXECUTION, self.execution.pk, token)


def run(execution_id: int, lease: str, *, deadline: float | None = None, fresh: Execution | None = None) -> None:
    """Run the execution until it waits or ends. ``lease`` proves this worker owns it; the run
    hands itself back at ``deadline`` (``time.monotonic()``; default: one time budget from now).
    ``fresh``: the execution as its creator, this task, holds it (just created and claimed, with its
    version): it is not read back, and no earlier attempt of it can have been cut short."""
    if deadline is None:
        deadline = time.monotonic() + app_settings.TIME_BUDGET_SECONDS
    current = None
    try:
        current = _load(execution_id, lease, deadline, fresh)
        if current is not None:
            try:
                run_loop.run_steps(current)
            except Rewind:
                current = _load(execution_id, lease, deadline)
                if current is not None:
                    current.batching = False
                    run_loop.run_steps(current)
    except LeaseLost:
        logger.info("execution %s: lease lost (canceled or taken over); stopping", execution_id)
    finally:
        if current is not None:
            current.abandon()


def _load(execution_id: int, lease: str, deadline: float, fresh: Execution | None = None) -> StoredRun | None:
    """The run of a running execution this worker holds the lease of, or None. A ``fresh`` one (see
    ``run``) is taken as it is: not read back, and not looked at for an interrupted attempt."""
    if fresh is not None:
        return StoredRun(fresh, lease, program_for(fresh.version), fresh.cursor, dict(fresh.outputs),
                         deadline=deadline, resumed=False)
    # The snapshot is read only when this process has not cached the version's program yet.
    execution = Execution.objects.select_related("version").defer("version__snapshot").get(pk=execution_id)
    if execution.status != ExecutionStatus.RUNNING or execution.lease_token != lease:
        return None
    return StoredRun(execution, lease, program_for(execution.version), execution.cursor, dict(execution.outputs),
                     deadline=deadline)
