"""The worker's run of a stored execution: the run loop's backend that writes.

Consecutive steps run inline in one worker task; only a delay, a retry wait or the end of the
time budget hands the execution back (as a wake-up), so no worker is ever held by a wait. A step
costs at most one commit: its log row, its effect when that is a write in this database
(create_task; the billing actions, add_tag and update_customer with the reference gateway) and
the cursor move commit together, guarded by the worker's lease, so such a step happens exactly
once with nothing to recover; an error such an action reports commits with what it wrote on
purpose. Steps that go straight on — control steps and such local actions — share one commit with
the steps after them (up to ``STEPS_PER_COMMIT`` steps or ``SECONDS_PER_COMMIT``): all of them
commit, or none and the run goes on from the last commit. Only an action with an outside effect
keeps two commits, an intent and a result, settled by idempotency key after a crash; it commits
the steps before it first. The execution's state stays in memory across the steps of a pass, step
log rows are written together when their transaction commits, and billing data is read once per
pass and again only after an action that changed it.
"""
from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django_q.exceptions import TimeoutException as TaskTimedOut

from automations import clock
from automations.actions import ActionContext, ActionError, registry
from automations.conf import app_settings
from automations.engine import approvals, run_loop, waits
from automations.engine.loop_items import StoredItems
from automations.engine.queueing import RESUME_EXECUTION, enqueue
from automations.engine.attempts import after_failed_attempt
from automations.engine.transitions import LeaseLost, finish, save_progress, wait
from automations.messaging import gate
from automations.models import Execution, StepRun
from automations.scope import Scope, build_scope, to_json
from automations.status import FINISHED_STATUSES, ExecutionStatus, StepRunStatus
from automations.steps import Next
from automations.steps.cursor import Program, loop_index, loop_variables, program_for, step_done
from automations.templating import RenderError

logger = logging.getLogger("automations")

#: At most this many steps that go straight on share one commit, and for at most this long: the
#: transaction holds the row locks of what its steps changed (a customer's row) until it commits.
STEPS_PER_COMMIT = 20
SECONDS_PER_COMMIT = 0.2


class Rewind(Exception):
    """A step raised while the open transaction held the effects of the steps before it: all of
    them were rolled back, so the pass starts again from the last commit, one commit per step."""


@dataclass
class StoredRun:
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
    #: The loops' items: rows written once, read once per pass (``engine.loop_items``).
    _items: StoredItems | None = None

    def scope(self) -> Scope:
        self.execution.outputs = self.outputs
        return build_scope(self.execution, now=self.now, loop_vars=loop_variables(self.cursor, self.loop_items),
                           billing=self.billing)

    @contextmanager
    def transaction(self, *, writes: bool = False) -> Iterator[None]:
        """The step's transaction: the one the steps before it left open, or a new one. Committed
        at the end unless the step keeps it open for the next one (``commit``); rolled back by an
        exception. A step that ``writes`` into a transaction holding earlier steps' effects runs
        in a savepoint, so its failure rolls back only its own writes; any other exception there
        rolls everything back and raises :class:`Rewind`."""
        savepoint = None
        if self._open is None:
            self._open = transaction.atomic()
            self._open.__enter__()
            self._effects, self._steps_open, self._opened_at = False, 0, time.monotonic()
        elif writes and self._effects:
            savepoint = transaction.savepoint()
        self._keep_open, mark = False, len(self._unsaved)
        try:
            yield
        except BaseException as exc:
            del self._unsaved[mark:]
            if savepoint is not None:
                transaction.savepoint_rollback(savepoint)
                raise
            lost = self._effects
            self._close(*sys.exc_info())
            if lost and isinstance(exc, Exception) and not isinstance(exc, LeaseLost):
                raise Rewind() from exc
            raise
        if savepoint is not None:
            transaction.savepoint_commit(savepoint)
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
        """Insert the log rows waiting for this transaction's commit, in the order of their steps."""
        if self._unsaved:
            StepRun.objects.bulk_create(self._unsaved)
            self._unsaved = []

    def abandon(self) -> None:
        """Roll back a transaction an unexpected exception left open."""
        if self._open is not None:
            self._close(RuntimeError, RuntimeError("the run stopped"), None)

    def log(self, step: dict[str, Any], status: str, *, attempt: int | None = None, output: Any = None,
            error: str = "", input: Any = None, index: str | None = None) -> StepRun:
        """A step-log row. A ``running`` row (an outside action's intent) is inserted at once: its
        unique key stops a second worker; the others are inserted when their transaction commits."""
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

    def perform(self, step: dict[str, Any]) -> Next:
        return _action(self, step)

    def wait_result(self, step: dict[str, Any]) -> Any:
        return _wait_result(self, step)

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
        """Store the step's outcome: a step that goes straight on leaves its transaction open for
        the next step's commit (whose guarded update proves the lease for both) while the batch
        is small and young; otherwise the cursor is stored now. ``effects``: the step wrote
        something besides its log row (a local action)."""
        goes_on = (outcome.status is None and outcome.waits_for is None
                   and (outcome.wake_at is None or outcome.wake_at <= clock.now()))
        if (goes_on and self.batching and self._steps_open + 1 < STEPS_PER_COMMIT
                and time.monotonic() - self._opened_at < SECONDS_PER_COMMIT):
            outcome.wake_at, self._keep_open = None, True
            self._effects = self._effects or effects
            return
        _commit(self, outcome)

    def goes_on(self, outcome: Next) -> bool:
        return outcome.wake_at is None and outcome.status is None and outcome.waits_for is None

    def carry_on(self) -> bool:
        if time.monotonic() >= self.deadline:
            _hand_back(self)  # rather than outlive the task's timeout
            return False
        return True

    def next_step(self) -> None:
        # Only the first step of a pass reads the execution: after it, the cursor and outputs in
        # memory are what the last commit stored, and every commit is guarded by the lease (a
        # cancel or a takeover in between raises LeaseLost there, before any action runs).
        self.now, self.resumed = clock.now(), False


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


def _hand_back(current: StoredRun) -> None:
    """Queue a continuation of the run (due now) and let this worker go."""
    with current.transaction():
        # the cursor too: control steps may have moved it since the last commit
        token = wait(current.execution.pk, current.lease, clock.now(), cursor=current.cursor,
                     outputs=to_json(current.outputs))
        enqueue(RESUME_EXECUTION, current.execution.pk, token)


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


def _commit(current: StoredRun, outcome: Next) -> None:
    """Store the cursor and outputs with the outcome (inside the caller's transaction)."""
    fields = {"cursor": current.cursor, "outputs": to_json(current.outputs)}
    current.outputs = fields["outputs"]  # as the next step would read them back from the row
    if outcome.status:
        finish(current.execution.pk, current.lease, outcome.status, error=outcome.error, reason=outcome.reason,
               **fields)
    elif outcome.waits_for is not None or (outcome.wake_at and outcome.wake_at > clock.now()):
        # a wait with something to wait for besides the time may have no wake-up at all (an
        # approval without a timeout) or one already due (the sweep then resumes it at once)
        token = wait(current.execution.pk, current.lease, outcome.wake_at, **fields)
        if outcome.waits_for is not None:
            _begin_wait(current, token, outcome.waits_for)
    else:
        outcome.wake_at = None  # a wait that is already over: carry on at once
        save_progress(current.execution.pk, current.lease, **fields)


def _begin_wait(current: StoredRun, token: int, waits_for: dict[str, Any]) -> None:
    """Set up what the run now waits for besides the time, under its new wake-up token."""
    if waits_for["kind"] == "approval":
        approvals.ask(current.execution, token, waits_for, loop_index(current.cursor))
    else:
        waits.register(current.execution, token, waits_for, current.program.definition.get("correlation_key", ""),
                       current.cursor)


def _wait_result(current: StoredRun, step: dict[str, Any]) -> Any:
    state = current.cursor[-1]["wait"]
    if state.get("kind") == "approval":
        until = datetime.fromisoformat(state["until"]) if state.get("until") else None
        return approvals.result(current.execution, step["key"], loop_index(current.cursor), until, current.now)
    return waits.result(current.execution, current.cursor, current.now)


# --- actions ---------------------------------------------------------------------------------


def _action(current: StoredRun, step: dict[str, Any]) -> Next:
    action = registry.get(step["action"])
    frame = current.cursor[-1]
    attempt = frame.get("attempt", 1)
    index = loop_index(current.cursor)
    context = ActionContext(
        execution_id=current.execution.pk, step_key=step["key"], loop_index=index, attempt=attempt,
        variables=current.scope(), now=current.now,
        idempotency_key=f"{current.execution.pk}:{step['key']}:{index or 0}",
    )

    interrupted = StepRun.objects.filter(execution=current.execution, step_key=step["key"], loop_index=index,
                                         attempt=attempt, status=StepRunStatus.RUNNING).first() if current.resumed else None
    if interrupted is not None:
        # A worker died during this attempt: ask the action, by idempotency key, whether it took
        # effect, rather than guess.
        try:
            recovered = action.recover(context) if action else None
        except ActionError as exc:  # it took effect and failed (a recorded decline): that is the attempt's outcome
            return _failed(current, step, attempt, str(exc), retryable=exc.retryable, retry_after=exc.retry_after,
                           record=interrupted, output=exc.output)
        if recovered is None and _interruptions(current, step, index) + 1 >= app_settings.MAX_INTERRUPTED_ATTEMPTS:
            # Performed again and again, it would kill worker after worker (an attempt that always
            # outlives the task's timeout): the step fails for good instead.
            return _failed(current, step, attempt, f"the worker stopped during {app_settings.MAX_INTERRUPTED_ATTEMPTS} "
                           "attempts at this step (AUTOMATIONS['MAX_INTERRUPTED_ATTEMPTS']); it is not performed again",
                           retryable=False, record=interrupted)
        with current.transaction():
            if recovered is not None:
                interrupted.status, interrupted.output = StepRunStatus.SUCCEEDED, to_json(recovered)
                interrupted.error = "worker stopped during this attempt; result recovered by idempotency key"
                interrupted.finished_at = clock.now()
                interrupted.save()
                return _succeeded(current, step, recovered)
            interrupted.status, interrupted.finished_at = StepRunStatus.INTERRUPTED, clock.now()
            interrupted.error = "worker stopped during this attempt; the action is performed again"
            interrupted.save()
            attempt = frame["attempt"] = attempt + 1
            context.attempt = attempt
            save_progress(current.execution.pk, current.lease, cursor=current.cursor)

    if action is None:
        return _failed(current, step, attempt, f"action {step['action']!r} is not registered", retryable=False)
    try:
        config = action.render(step.get("config", {}), context.variables)
    except RenderError as exc:
        return _failed(current, step, attempt, f"config: {exc}", retryable=False)
    if action.is_local():
        return _perform_inline(current, step, action, config, context)
    held = gate.admit(action, step.get("config", {}), context, current.program.definition, clock.now(),
                      current.execution.automation_id)
    if held is not None:
        return _held(current, step, attempt, held)

    try:
        with current.transaction():
            # the cursor too: control steps before this one may have moved it since the last commit
            save_progress(current.execution.pk, current.lease, cursor=current.cursor,
                          outputs=to_json(current.outputs))
            record = current.log(step, StepRunStatus.RUNNING, attempt=attempt, input=to_json(action.redact(config)))
    except IntegrityError:
        raise LeaseLost(current.execution.pk) from None  # another worker is running this very attempt

    try:
        try:
            output = gate.send(action, config, context)
        except TaskTimedOut:
            # django-q2's alarm: the task outlived Q_CLUSTER["timeout"] during this attempt, and
            # the worker is about to be replaced. The attempt counts as failed (timed out) under
            # the retry policy, recorded now, rather than found "running" after the worker is gone
            # and performed again for ever; then the worker goes, as django-q2 intends.
            outcome = _failed(current, step, attempt, "timed out: the attempt outlived the worker's task "
                              "timeout (Q_CLUSTER['timeout'])", retryable=True, record=record)
            if outcome.wake_at is None and outcome.status is None:
                _hand_back(current)
            raise
        except ActionError as exc:
            return _failed(current, step, attempt, str(exc), retryable=exc.retryable,
                           retry_after=exc.retry_after, record=record, output=exc.output)
        except Exception as exc:  # a bug in an action must fail the step visibly, never kill the worker
            logger.exception("action %s failed unexpectedly", step["action"])
            return _failed(current, step, attempt, f"{type(exc).__name__}: {exc}", retryable=False, record=record)
        if action.changes_billing_data:
            current.billing.clear()
        with current.transaction():
            record.status, record.output, record.finished_at = StepRunStatus.SUCCEEDED, to_json(output), clock.now()
            record.save(update_fields=["status", "output", "finished_at"])
            return _succeeded(current, step, output)
    except LeaseLost:
        _keep_outcome(record)
        raise


def _perform_inline(current: StoredRun, step: dict[str, Any], action: Any, config: dict[str, Any],
                    context: ActionContext) -> Next:
    """An action whose effect is a write in this database: it runs in its step's transaction, with
    its log row and the cursor move. An ActionError it raises commits with what it wrote on purpose
    (a decline's failed payment); any other exception leaves nothing of the attempt."""
    attempt, context.inline = context.attempt, True
    shown = to_json(action.redact(config))
    try:
        with current.transaction(writes=True):
            try:
                output = action.run(config, context)
            except ActionError as exc:
                return _fail(current, step, attempt, str(exc), retryable=exc.retryable, retry_after=exc.retry_after,
                             output=exc.output, input=shown)
            finally:
                if action.changes_billing_data:  # a failed attempt may have changed it too (a decline's payment)
                    current.billing.clear()
            current.log(step, StepRunStatus.SUCCEEDED, attempt=attempt, input=shown, output=output)
            return _succeeded(current, step, output, local=True)
    except TaskTimedOut:
        # As for any attempt (see _action): counted as failed (timed out), then the worker goes.
        outcome = _failed(current, step, attempt, "timed out: the attempt outlived the worker's task "
                          "timeout (Q_CLUSTER['timeout'])", retryable=True, input=shown)
        if outcome.wake_at is None and outcome.status is None:
            _hand_back(current)
        raise
    except (LeaseLost, Rewind):
        raise
    except Exception as exc:  # a bug in an action must fail the step visibly, never kill the worker
        logger.exception("action %s failed unexpectedly", step["action"])
        # A database error (a deadlock, a key another worker took) may pass on a later attempt; a bug will not.
        return _failed(current, step, attempt, f"{type(exc).__name__}: {exc}",
                       retryable=isinstance(exc, DatabaseError), input=shown)


def _held(current: StoredRun, step: dict[str, Any], attempt: int, held: gate.Held) -> Next:
    """A message its send window or a frequency cap holds back: skipped (the step succeeds with
    ``{"skipped": ...}`` as its output), or the run waits, the step not attempted, and tries again."""
    with current.transaction():
        if held.skipped:
            current.log(step, StepRunStatus.SUCCEEDED, attempt=attempt, output=held.output())
            return _succeeded(current, step, held.output())
        current.log(step, StepRunStatus.DEFERRED, attempt=attempt, output=held.output())
        outcome = Next(wake_at=held.until)
        _commit(current, outcome)
    return outcome


def _interruptions(current: StoredRun, step: dict[str, Any], index: str) -> int:
    """How many attempts at this step (at this loop position) a worker's death has cut short."""
    return StepRun.objects.filter(execution=current.execution, step_key=step["key"], loop_index=index,
                                  status=StepRunStatus.INTERRUPTED).count()


def _keep_outcome(record: StepRun) -> None:
    """The run ended while this attempt was in flight (an exit_on event, often the one the attempt
    itself caused, or an operator's cancel): the step log keeps what the attempt really did instead
    of "running" for ever. The outcome is on ``record`` in memory; its save was rolled back with
    the cursor move. When another worker took the run over instead, that worker settles the
    attempt by its idempotency key, so nothing is written here."""
    if record.status == StepRunStatus.RUNNING:
        return
    if Execution.objects.filter(pk=record.execution_id, status__in=FINISHED_STATUSES).exists():
        StepRun.objects.filter(pk=record.pk, status=StepRunStatus.RUNNING).update(
            status=record.status, output=record.output, error=record.error, finished_at=record.finished_at)


def _succeeded(current: StoredRun, step: dict[str, Any], output: Any, *, local: bool = False) -> Next:
    """The step succeeded: its output is kept and the run moves past it. A ``local`` action's commit
    may be shared with the steps after it; any other action's result commits now, so that what it
    did outside is on record before anything else."""
    current.outputs[step["key"]] = output
    step_done(current.cursor)
    outcome = Next()
    if local:
        current.commit(outcome, effects=True)
    else:
        _commit(current, outcome)
    return outcome


def _failed(current: StoredRun, step: dict[str, Any], attempt: int, error: str, **failure: Any) -> Next:
    """The attempt failed: recorded, with the retry wait or what follows a failure, and committed
    (with the steps before it that share the open transaction, if any)."""
    with current.transaction():
        return _fail(current, step, attempt, error, **failure)


def _fail(current: StoredRun, step: dict[str, Any], attempt: int, error: str, *, retryable: bool,
          retry_after: float | None = None, record: StepRun | None = None, output: Any = None,
          input: Any = None) -> Next:
    """The attempt failed: its log row, then a retry wait or the step's fallback / on_failure
    (inside the caller's transaction)."""
    if record is None:
        record = current.log(step, StepRunStatus.FAILED, attempt=attempt, error=error, input=input,
                             output=output)
    else:
        record.status, record.error, record.finished_at = StepRunStatus.FAILED, error, clock.now()
        record.output = to_json(output)
        record.save(update_fields=["status", "error", "finished_at", "output"])
    outcome = after_failed_attempt(current.program.definition, current.cursor, current.outputs, step, attempt, error,
                                   retryable=retryable, retry_after=retry_after, output=to_json(output),
                                   now=clock.now())
    _commit(current, outcome)
    return outcome
