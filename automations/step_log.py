"""How an execution's step log reads to a person: each attempt's status in words (a delay the run
is waiting in reads "waiting until …", a failed attempt with a retry pending "retrying at …", a
payment declined while the run went on "declined — continued: …", never "succeeded"), each step's
state, and how the run ended (a canceled run's log ends with a row naming the cancellation). The
admin's step log and the API's run view (``step_states``, ``ending``, each step's ``label``) both
come from here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from automations import run_words
from automations.durations import format_iso_moment, format_moment
from automations.models import Execution, StepRun
from automations.status import ExecutionStatus, StepRunStatus
from automations.steps import step_types
from automations.steps.cursor import program_for, wait_state

#: A branch's lanes as the flow titles them.
LANE_TITLES = {"then": "Then", "else": "Else"}


@dataclass
class StepState:
    status: str  # succeeded, failed, running, waiting, retrying, interrupted, canceled
    label: str
    attempts: int
    runs: int

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "label": self.label, "attempts": self.attempts, "runs": self.runs}


def attempt_labels(execution: Execution, runs: list[StepRun]) -> dict[int, str]:
    """Each attempt's status in words, by its row id: "succeeded", "condition met: took Then",
    "declined, tried again: …", "declined — continued: …", "failed, fallback ran: …" (lower case,
    as the flow's other states read: "not reached", "waiting until …")."""
    steps = program_for(execution.version).steps
    latest = runs[-1] if runs else None
    tried: dict[tuple[str, str], int] = {}
    for run in runs:
        if run.status != StepRunStatus.DEFERRED:
            tried[(run.step_key, run.loop_index)] = max(tried.get((run.step_key, run.loop_index), 0), run.attempt)
    labels = {}
    for run in runs:
        if run.status == StepRunStatus.FAILED:
            again = tried[(run.step_key, run.loop_index)] > run.attempt
            # the run stopped at its latest attempt unless it completed (on_failure: continue on its last step)
            went_on = run is not latest or execution.status == ExecutionStatus.SUCCEEDED
            labels[run.pk] = _failed(run, steps.get(run.step_key) or {}, again=again, went_on=went_on)
        else:
            labels[run.pk] = _other(run)
    return labels


def _failed(run: StepRun, step: dict[str, Any], *, again: bool, went_on: bool) -> str:
    declined, why = run_words.failure(run.output, run.error)
    what = "declined" if declined else "failed"
    if again:
        return f"{what}, tried again: {why}"
    if not went_on:
        return f"{what}: {why}"
    if step.get("fallback"):
        return f"{what}, fallback ran: {why}"
    return f"{what} — continued: {why}"


def _other(run: StepRun) -> str:
    output = run.output if isinstance(run.output, dict) else {}
    if run.status == StepRunStatus.SUCCEEDED and output.get("branch") in LANE_TITLES:
        met = "condition met" if output["branch"] == "then" else "condition not met"
        return f"{met}: took {LANE_TITLES[output['branch']]}"
    if run.status == StepRunStatus.SUCCEEDED and run.step_type == "split" and output.get("variant"):
        return f"took variant {str(output['variant']).upper()} ({output.get('reason') or 'drawn'})"
    if run.status == StepRunStatus.DEFERRED or "skipped" in output:
        return output.get("reason") or run.status
    if run.status == StepRunStatus.INTERRUPTED:
        return "interrupted: the worker stopped during this attempt"
    return run.status


def step_states(execution: Execution, runs: list[StepRun],
                labels: dict[int, str] | None = None) -> dict[str, StepState]:
    """The state of every step that has run, by key (steps never reached are absent)."""
    labels = attempt_labels(execution, runs) if labels is None else labels
    states: dict[str, StepState] = {}
    by_key: dict[str, list[StepRun]] = {}
    for run in runs:
        by_key.setdefault(run.step_key, []).append(run)
    latest = runs[-1] if runs else None
    for key, attempts in by_key.items():
        last = attempts[-1]
        status, label = last.status, labels[last.pk]
        step_type = step_types.get(last.step_type)
        waiting = step_type.waiting_state(last, execution) if last is latest and step_type is not None else None
        if waiting is not None:
            status, label = waiting
        elif last is latest and execution.status == ExecutionStatus.WAITING:
            if last.status == StepRunStatus.FAILED:
                declined, why = run_words.failure(last.output, last.error)
                status = "retrying"
                label = f"{'declined' if declined else 'failed'}, retrying at {format_moment(execution.wake_at)}: {why}"
        elif last.status == StepRunStatus.RUNNING and execution.status != ExecutionStatus.RUNNING:
            # A run ended (canceled, say) while this attempt was under way and nobody finished it.
            label = f"running when the execution was {execution.status}"
        # a deferral (a message waiting for its window or a cap) is not an attempt
        tried = [run.attempt for run in attempts if run.status != StepRunStatus.DEFERRED]
        states[key] = StepState(status=status, label=label, attempts=max(tried, default=0), runs=len(attempts))
    waiting = wait_state(execution.cursor)
    if waiting.get("step") and execution.status in (ExecutionStatus.WAITING, ExecutionStatus.CANCELED):
        # a wait_for or approval step under way has no row in the log until it ends
        # an approval's stored label names the permission that decides it: a person reads "a decision"
        what = ("for a decision" if waiting.get("kind") == "approval"
                else waiting.get("label") or f"for {' or '.join(waiting.get('events', []))}")
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
    """The log's last row for a finished execution: how and why it ended, in words."""
    if execution.status not in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELED):
        return None
    return {"status": execution.status, "label": run_words.ended(execution), "at": execution.finished_at}


def log_rows(execution: Execution) -> list[dict[str, Any]]:
    """The step log as rows for a table: every attempt, its state as a person reads it, and the end."""
    runs = list(execution.step_runs.order_by("started_at", "pk"))
    labels = attempt_labels(execution, runs)
    states = step_states(execution, runs, labels)
    latest = runs[-1] if runs else None
    rows = []
    for run in runs:
        shown = states[run.step_key].label if run is latest else labels[run.pk]
        rows.append({"run": run, "status": states[run.step_key].status if run is latest else run.status,
                     "shown": shown})
    end = ending(execution)
    if end:
        rows.append({"run": None, "status": end["status"], "shown": end["label"], "at": end["at"]})
    return rows
