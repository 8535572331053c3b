"""The run loop: from the cursor, step after step, until the run waits or ends.

One loop for both kinds of run. The worker's backend is the stored execution
(``automations.engine.stored_run``: every step commits its log entry and the cursor move, guarded
by the worker's lease); test mode's is a virtual run (``automations.engine.simulation``: no writes,
delays pass on a virtual clock). What a step does is its step type's (``automations.steps``).
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from automations.status import ExecutionStatus, StepRunStatus
from automations.steps import Next, Run, StepFailed, step_types
from automations.steps.base import StepJSON
from automations.steps.cursor import locate


class Backend(Run, Protocol):
    """A run as the loop drives it: a step's :class:`~automations.steps.Run`, plus where its
    progress goes."""

    def atomic(self) -> AbstractContextManager:
        """What a step's log entry and cursor move are committed in."""

    def commit(self, outcome: Next) -> None:
        """Store the cursor and outputs with ``outcome`` (inside ``atomic``)."""

    def goes_on(self, outcome: Next) -> bool:
        """After a step: whether the run carries on at once (rather than wait or end)."""

    def carry_on(self) -> bool:
        """Between steps: whether this pass may run another (a worker's time budget, test mode's
        step cap); when not, the backend hands the run back or ends it."""

    def next_step(self) -> None:
        """Get ready for the next step of the same pass."""


def run_steps(run: Backend) -> None:
    """Run steps until the run waits, ends or ``run.carry_on()`` says stop."""
    while step_once(run):
        if not run.carry_on():
            return
        run.next_step()


def step_once(run: Backend) -> bool:
    """Run the next step (or unwind to it); True when the run goes straight on."""
    position = locate(run.program, run.cursor)
    if position.failed_step:
        outcome = Next(status=ExecutionStatus.FAILED, error=position.error)
    elif position.refill:
        # the page's items are kept in the transaction that moves the cursor onto them
        owner = run.program.steps[position.refill["owner"]]
        outcome = Next()
        try:
            with run.atomic():
                step_types.get(owner["type"]).refill(run, owner)
                run.commit(outcome)
        except StepFailed as exc:
            return _step_failed(run, owner, exc)
        return run.goes_on(outcome)
    elif position.step is None:
        outcome = Next(status=ExecutionStatus.SUCCEEDED)
    else:
        step = position.step
        step_type = step_types.get(step["type"])
        if step_type.commits_itself:
            return run.goes_on(step_type.reach(run, step))
        try:
            with run.atomic():
                outcome = step_type.reach(run, step)
                run.commit(outcome)
        except StepFailed as exc:
            return _step_failed(run, step, exc)
        return run.goes_on(outcome)
    with run.atomic():
        run.commit(outcome)
    return run.goes_on(outcome)


def _step_failed(run: Backend, step: StepJSON, exc: StepFailed) -> bool:
    """The step could not be evaluated: logged as failed, and the run fails there."""
    outcome = Next(status=ExecutionStatus.FAILED, error=f"step {step['key']}: {exc}")
    with run.atomic():
        run.log(step, StepRunStatus.FAILED, error=str(exc))
        run.commit(outcome)
    return run.goes_on(outcome)
