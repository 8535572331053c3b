"""Performing an action step in a worker's run: the attempt recorded, the action run (inline in
the step's transaction when its effect is a write in this database; with an intent and a result
committed apart when it reaches outside, settled by idempotency key after a crash), a message held
by its send window or a frequency cap, and what follows a failed attempt."""
from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, IntegrityError
from django_q.exceptions import TimeoutException as TaskTimedOut

from automations import clock
from automations.actions import ActionContext, ActionError, registry
from automations.conf import app_settings
from automations.engine.attempts import after_failed_attempt
from automations.engine.step_transactions import Rewind, StepTransactions
from automations.engine.transitions import LeaseLost, save_progress
from automations.holds import Held
from automations.messaging import gate
from automations.models import Execution, StepRun
from automations.scope import to_json
from automations.status import FINISHED_STATUSES, StepRunStatus
from automations.steps import Next
from automations.steps.cursor import loop_index, step_done
from automations.templating import RenderError

logger = logging.getLogger("automations")


def perform(current: StepTransactions, step: dict[str, Any]) -> Next:
    """Perform an action step's attempt in a stored run (settling first an attempt a dead worker
    left "running") and return what follows it."""
    action = registry.get(step["action"])
    frame = current.cursor[-1]
    attempt = frame.get("attempt", 1)
    index = loop_index(current.cursor)
    context = ActionContext(
        execution_id=current.execution.pk, step_key=step["key"], loop_index=index, attempt=attempt,
        variables=current.scope(), now=current.now,
        idempotency_key=f"{current.execution.pk}:{step['key']}:{index or 0}",
        automation_id=current.execution.automation_id,
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

    shown = to_json(action.redact(config))
    try:
        with current.transaction():
            # What the action reserves for the attempt (a card's charge) commits with its intent.
            try:
                held = action.admit(config, context)
            except ActionError as exc:  # a rule forbids the attempt: the step fails as with any error
                return _fail(current, step, attempt, str(exc), retryable=exc.retryable, retry_after=exc.retry_after,
                             output=exc.output, input=shown)
            if held is not None:
                return _hold(current, step, attempt, held)
            # the cursor too: control steps before this one may have moved it since the last commit
            save_progress(current.execution.pk, current.lease, cursor=current.cursor,
                          outputs=to_json(current.outputs))
            record = current.log(step, StepRunStatus.RUNNING, attempt=attempt, input=shown)
    except IntegrityError:
        raise LeaseLost(current.execution.pk) from None  # another worker is running this very attempt

    try:
        try:
            output = gate.send(action, config, context)
        except TaskTimedOut:
            _timed_out(current, step, attempt, record=record)
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


def _perform_inline(current: StepTransactions, step: dict[str, Any], action: Any, config: dict[str, Any],
                    context: ActionContext) -> Next:
    """An action whose effect is a write in this database: it runs in its step's transaction, with
    its log row and the cursor move. An ActionError it raises commits with what it wrote on purpose
    (a decline's failed payment); any other exception leaves nothing of the attempt."""
    attempt, context.inline, context.history_on_commit = context.attempt, True, current.history_on_commit
    shown = to_json(action.redact(config))
    try:
        with current.transaction():
            try:
                held = action.admit(config, context)
                if held is not None:
                    return _hold(current, step, attempt, held)
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
        _timed_out(current, step, attempt, input=shown)
        raise
    except (LeaseLost, Rewind):
        raise
    except Exception as exc:  # a bug in an action must fail the step visibly, never kill the worker
        logger.exception("action %s failed unexpectedly", step["action"])
        # A database error (a deadlock, a key another worker took) may pass on a later attempt; a bug will not.
        return _failed(current, step, attempt, f"{type(exc).__name__}: {exc}",
                       retryable=isinstance(exc, DatabaseError), input=shown)


def _held(current: StepTransactions, step: dict[str, Any], attempt: int, held: Held) -> Next:
    """A step held back before its attempt (a message by its send window or a frequency cap, a
    payment by the card networks' limits): skipped (the step succeeds with ``{"skipped": ...}`` as
    its output), or the run waits, the step not attempted, and tries again."""
    with current.transaction():
        return _hold(current, step, attempt, held)


def _hold(current: StepTransactions, step: dict[str, Any], attempt: int, held: Held) -> Next:
    """``_held`` inside the caller's transaction."""
    if held.skipped:
        current.log(step, StepRunStatus.SUCCEEDED, attempt=attempt, output=held.output())
        return _succeeded(current, step, held.output())
    current.log(step, StepRunStatus.DEFERRED, attempt=attempt, output=held.output())
    outcome = Next(wake_at=held.until)
    current.store(outcome)
    return outcome


def _interruptions(current: StepTransactions, step: dict[str, Any], index: str) -> int:
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


def _succeeded(current: StepTransactions, step: dict[str, Any], output: Any, *, local: bool = False) -> Next:
    """The step succeeded: its output is kept and the run moves past it. A ``local`` action's commit
    may be shared with the steps after it; any other action's result commits now, so that what it
    did outside is on record before anything else."""
    current.outputs[step["key"]] = output
    step_done(current.cursor)
    outcome = Next()
    if local:
        current.commit(outcome, effects=True)
    else:
        current.store(outcome)
    return outcome


def _failed(current: StepTransactions, step: dict[str, Any], attempt: int, error: str, **failure: Any) -> Next:
    """The attempt failed: recorded, with the retry wait or what follows a failure, and committed
    (with the steps before it that share the open transaction, if any)."""
    with current.transaction():
        return _fail(current, step, attempt, error, **failure)


def _fail(current: StepTransactions, step: dict[str, Any], attempt: int, error: str, *, retryable: bool,
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
    current.store(outcome)
    return outcome


def _timed_out(current: StepTransactions, step: dict[str, Any], attempt: int, **where: Any) -> None:
    """django-q2's alarm: the task outlived Q_CLUSTER["timeout"] during this attempt, and the
    worker is about to be replaced (the caller re-raises). The attempt counts as failed (timed out)
    under the retry policy, recorded now, rather than found "running" after the worker is gone
    and performed again for ever; a run that goes on at once is handed back."""
    outcome = _failed(current, step, attempt, "timed out: the attempt outlived the worker's task timeout "
                      "(Q_CLUSTER['timeout'])", retryable=True, **where)
    if outcome.wake_at is None and outcome.status is None:
        current.hand_back()
