"""What follows a failed attempt at an action step, for the worker and test mode alike: a retry
wait under the step's policy, else the step's fallback lane or ``on_failure``. One function, so
that what an operator tests is what runs."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from automations.engine.retry import retry_delay, retry_policy
from automations.status import ExecutionStatus
from automations.steps import Next
from automations.steps.action import after_failure
from automations.steps.cursor import Frame


def after_failed_attempt(definition: dict[str, Any], cursor: list[Frame], outputs: dict[str, Any],
                         step: dict[str, Any], attempt: int, error: str, *, retryable: bool, now: datetime,
                         retry_after: float | None = None, output: Any = None) -> Next:
    """Attempt number ``attempt`` of ``step`` failed with ``error``: wait and try again while the
    retry policy (the step's, else the automation's, else the settings') allows a retryable
    error another attempt; otherwise the step has failed for good (``after_failure``). Moves the
    cursor and outputs as the run must go on."""
    declined = isinstance(output, dict) and bool(output.get("decline_code"))
    policy = retry_policy(definition.get("retry"), step.get("retry"), decline=declined)
    if retryable and attempt < policy.max_attempts:
        try:
            wake_at = now + retry_delay(policy, attempt, retry_after)
        except OverflowError:  # the next attempt would be past the calendar's end: there is none
            error = f"{error}; the next attempt would fall beyond the year 9999"
        else:
            cursor[-1]["attempt"] = attempt + 1
            return Next(wake_at=wake_at)
    final_error = after_failure(cursor, outputs, step, error, output)
    return Next(status=ExecutionStatus.FAILED, error=final_error) if final_error else Next()
