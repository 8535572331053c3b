"""What a run can wait for besides the time, by kind: how such a wait begins (what it registers
under the run's new wake-up token) and how it ended, read back when the run is woken. The engine
names no kind: a step type's ``waits_for`` says which it is.

Time-only waits register nothing: a delay, a retry wait, a send window or a frequency cap holding
a message back is the execution row's ``wake_at``, which the tick's drains claim when it is due.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from automations.engine import approvals, event_waits
from automations.models import Execution
from automations.steps.cursor import loop_index


@dataclass(frozen=True)
class WaitKind:
    #: (execution, token, waits_for, cursor, correlation key): what the wait registers.
    begin: Callable[[Execution, int, dict[str, Any], list[dict[str, Any]], str], None]
    #: (execution, cursor, step, now): how it ended, or None when the run was woken before its
    #: time with nothing come (it waits on).
    result: Callable[[Execution, list[dict[str, Any]], dict[str, Any], datetime], Any]


def _approval_result(execution: Execution, cursor: list[dict[str, Any]], step: dict[str, Any], now: datetime) -> Any:
    until = cursor[-1]["wait"].get("until")
    return approvals.result(execution, step["key"], loop_index(cursor), datetime.fromisoformat(until) if until else None,
                            now)


KINDS: dict[str, WaitKind] = {
    # wait_for: waiter rows an event of the listed types (and correlation value) ends
    "events": WaitKind(
        begin=lambda execution, token, waits_for, cursor, correlation_key: event_waits.register(
            execution, token, waits_for, correlation_key, cursor),
        result=lambda execution, cursor, step, now: event_waits.result(execution, cursor, now)),
    # approval: a request an approver decides (or its timeout)
    "approval": WaitKind(
        begin=lambda execution, token, waits_for, cursor, correlation_key: approvals.ask(
            execution, token, waits_for, loop_index(cursor)),
        result=_approval_result),
}


def begin(execution: Execution, token: int, waits_for: dict[str, Any], cursor: list[dict[str, Any]],
          correlation_key: str) -> None:
    """Register what the run now waits for besides the time, under its new wake-up token."""
    KINDS[waits_for["kind"]].begin(execution, token, waits_for, cursor, correlation_key)


def result(execution: Execution, cursor: list[dict[str, Any]], step: dict[str, Any], now: datetime) -> Any:
    """How the wait the run is back from ended (its kind is in the cursor's wait state)."""
    return KINDS[cursor[-1]["wait"]["kind"]].result(execution, cursor, step, now)
