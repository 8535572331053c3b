"""How an execution's step log reads to a person: each step's state (a delay the run is waiting in
reads "waiting until …", a failed attempt with a retry pending "retrying at …") and how the run
ended (a canceled run's log ends with a row naming the cancellation). The admin's step log and
the API's run view (``step_states``, ``ending``) both come from here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from automations.durations import format_iso_moment, format_moment
from automations.models import Execution, StepRun
from automations.status import ExecutionStatus, StepRunStatus
from automations.steps import step_types


@dataclass
class StepState:
    status: str  # succeeded, failed, running, waiting, retrying, interrupted, canceled
    label: str
    attempts: int
    runs: int

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "label": self.label, "attempts": self.attempts, "runs": self.runs}


def step_states(execution: Execution, runs: list[StepRun]) -> dict[str, StepState]:
    """The state of every step that has run, by key (steps never reached are absent)."""
    states: dict[str, StepState] = {}
    by_key: dict[str, list[StepRun]] = {}
    for run in runs:
        by_key.setdefault(run.step_key, []).append(run)
    latest = runs[-1] if runs else None
    for key, attempts in by_key.items():
        last = attempts[-1]
        status, label = last.status, last.status
        if last.status == StepRunStatus.FAILED and last.error:
            label = f"failed: {last.error}"
        elif isinstance(last.output, dict) and (last.status == StepRunStatus.DEFERRED or "skipped" in last.output):
            label = last.output.get("reason") or label  # "capped: skipped (…)", "waited for the send window …"
        step_type = step_types.get(last.step_type)
        waiting = step_type.waiting_state(last, execution) if last is latest and step_type is not None else None
        if waiting is not None:
            status, label = waiting
        elif last is latest and execution.status == ExecutionStatus.WAITING:
            if last.status == StepRunStatus.FAILED:
                status, label = "retrying", f"failed, retrying at {format_moment(execution.wake_at)}: {last.error}"
        elif last.status == StepRunStatus.RUNNING and execution.status != ExecutionStatus.RUNNING:
            # A run ended (canceled, say) while this attempt was under way and nobody finished it.
            label = f"running when the execution was {execution.status}"
        # a deferral (a message waiting for its window or a cap) is not an attempt
        tried = [run.attempt for run in attempts if run.status != StepRunStatus.DEFERRED]
        states[key] = StepState(status=status, label=label, attempts=max(tried, default=0), runs=len(attempts))
    waiting = (execution.cursor[-1].get("wait") if execution.cursor else None) or {}
    if waiting.get("step") and execution.status in (ExecutionStatus.WAITING, ExecutionStatus.CANCELED):
        # a wait_for or approval step under way has no row in the log until it ends
        what = waiting.get("label") or f"for {' or '.join(waiting.get('events', []))}"
        until = format_iso_moment(waiting["until"]) if waiting.get("until") else "a decision"
        before = states.get(waiting["step"])
        if execution.status == ExecutionStatus.WAITING:
            status, label = "waiting", f"waiting {what} until {until}"
        else:
            status, label = "canceled", f"canceled while waiting {what}"
        states[waiting["step"]] = StepState(status=status, label=label, attempts=1,
                                            runs=before.runs if before else 0)
    return states


def ending(execution: Execution) -> dict[str, Any] | None:
    """The log's last row for a finished execution: how and why it ended."""
    if execution.status not in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELED):
        return None
    reason = execution.status_reason or execution.error
    label = f"{execution.status}: {reason}" if reason else str(execution.status)
    return {"status": execution.status, "label": label, "at": execution.finished_at}


def log_rows(execution: Execution) -> list[dict[str, Any]]:
    """The step log as rows for a table: every attempt, its state as a person reads it, and the end."""
    runs = list(execution.step_runs.order_by("started_at", "pk"))
    states = step_states(execution, runs)
    latest = runs[-1] if runs else None
    rows = []
    for run in runs:
        shown = states[run.step_key].label if run is latest else run.status
        rows.append({"run": run, "status": states[run.step_key].status if run is latest else run.status,
                     "shown": shown})
    end = ending(execution)
    if end:
        rows.append({"run": None, "status": end["status"], "shown": end["label"], "at": end["at"]})
    return rows
