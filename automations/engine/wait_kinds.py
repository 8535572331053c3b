"""Every way a run can wait, by kind: how it waits, how it wakes, what it registers besides the
wake-up when it begins, how it ended when the run is back, and how test mode settles it. The engine
names no kind: a step type's ``Next.waits_for`` says which one waits for something besides the time,
and :func:`current` tells which one a waiting execution is in.

Every wait is the execution row's ``wake_at`` (``waiting``, no worker held), which the tick's
drains claim when it is due. The time-only kinds (a delay, a retry wait, a message held back)
register nothing more; ``events`` and ``approval`` also store what ends them early (waiter rows, a
request), and their result is read back when the run is woken.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from automations.engine import approvals, event_waits
from automations.models import Execution, StepRun
from automations.status import ExecutionStatus, StepRunStatus
from automations.steps.cursor import Program, locate, loop_index, wait_state


@dataclass(frozen=True)
class WaitKind:
    name: str
    #: How it waits and how it wakes, in words (the developers' guide lists them).
    waits: str
    wakes: str
    #: (execution, token, waits_for, cursor, correlation key): what the wait registers besides the
    #: wake-up, inside the step's transaction. None: nothing (a time-only wait).
    begin: Callable[[Execution, int, dict[str, Any], list[dict[str, Any]], str], None] | None = None
    #: (execution, cursor, step, now): how it ended, or None when the run was woken before its time
    #: with nothing come. None: a time-only wait has no result.
    result: Callable[[Execution, list[dict[str, Any]], dict[str, Any], datetime], Any] | None = None
    #: (test run, waits_for): when a test run's wait ends, recording how (``engine.simulation``).
    rehearse: Callable[[Any, dict[str, Any]], datetime] | None = None


def _approval_result(execution: Execution, cursor: list[dict[str, Any]], step: dict[str, Any], now: datetime) -> Any:
    until = cursor[-1]["wait"].get("until")
    return approvals.result(execution, step["key"], loop_index(cursor), datetime.fromisoformat(until) if until else None,
                            now)


DELAY = WaitKind(
    "delay", waits="until a moment (a delay step's, or the moment a handed-back run goes on)",
    wakes="when the moment is due")
RETRY = WaitKind(
    "retry", waits="until an action's next attempt, after a failed one (its retry policy, or the wait the "
    "server or the card's issuer asked for)", wakes="when the next attempt is due")
HELD = WaitKind(
    "held", waits="until a message may go or a payment may be tried: the step's send window opens, a "
    "frequency cap frees up, or the card networks' retry limits allow another try",
    wakes="when that moment is due; the step is then tried again, and may be held again")
EVENTS = WaitKind(
    "events", waits="for an event of the listed types with the run's correlation value, or until the timeout",
    wakes="when such an event is stored (at dispatch, or found by the wait itself), else at the timeout",
    begin=lambda execution, token, waits_for, cursor, correlation_key: event_waits.register(
        execution, token, waits_for, correlation_key, cursor),
    result=lambda execution, cursor, step, now: event_waits.result(execution, cursor, now),
    rehearse=event_waits.rehearse)
APPROVAL = WaitKind(
    "approval", waits="for an approver's decision on the request the step stored, or until the timeout",
    wakes="when an approver decides, else at the timeout (with the step's on_timeout decision)",
    begin=lambda execution, token, waits_for, cursor, correlation_key: approvals.ask(
        execution, token, waits_for, loop_index(cursor)),
    result=_approval_result, rehearse=approvals.rehearse)

KINDS: dict[str, WaitKind] = {kind.name: kind for kind in (DELAY, RETRY, HELD, EVENTS, APPROVAL)}


def begin(execution: Execution, token: int, waits_for: dict[str, Any], cursor: list[dict[str, Any]],
          correlation_key: str) -> None:
    """Register what the run now waits for besides the time, under its new wake-up token."""
    kind = KINDS[waits_for["kind"]]
    if kind.begin is not None:
        kind.begin(execution, token, waits_for, cursor, correlation_key)


def result(execution: Execution, cursor: list[dict[str, Any]], step: dict[str, Any], now: datetime) -> Any:
    """How the wait the run is back from ended (its kind is in the cursor's wait state)."""
    kind = KINDS[cursor[-1]["wait"]["kind"]]
    return kind.result(execution, cursor, step, now) if kind.result is not None else None


def rehearse(test_run: Any, waits_for: dict[str, Any]) -> datetime:
    """When a test run's wait for something besides the time ends, recording how."""
    kind = KINDS[waits_for["kind"]]
    if kind.rehearse is None:
        return waits_for["until"]
    return kind.rehearse(test_run, waits_for)


@dataclass(frozen=True)
class Waiting:
    """What a waiting execution waits in: the kind, the step it waits at (None past the last
    step), and that step's latest log row there."""

    kind: WaitKind
    step: dict[str, Any] | None
    latest: StepRun | None
    #: The cursor's wait state, for the kinds that keep one (``events``, ``approval``).
    state: dict[str, Any]


def current(execution: Execution) -> Waiting | None:
    """The wait ``execution`` is in, or None when it is not waiting."""
    if execution.status != ExecutionStatus.WAITING:
        return None
    cursor = execution.cursor or []
    state = wait_state(cursor)
    position = locate(Program(execution.version.snapshot), [dict(frame) for frame in cursor])
    latest = execution.step_runs.order_by("-started_at", "-pk").first()
    if state.get("kind") in KINDS:
        return Waiting(KINDS[state["kind"]], position.step, latest, state)
    at_step = position.step is not None and latest is not None and latest.step_key == position.step["key"]
    if at_step and latest.status == StepRunStatus.DEFERRED:
        return Waiting(HELD, position.step, latest, state)
    if at_step and latest.status == StepRunStatus.FAILED:
        return Waiting(RETRY, position.step, latest, state)
    return Waiting(DELAY, position.step, latest, state)
