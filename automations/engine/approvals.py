"""approval, as the worker runs it: the request stored with the wait, and the decision read back.

Reaching an approval step stores an :class:`~automations.models.ApprovalRequest` (the question
rendered on the run's data, the customer and amounts, who may decide) with the execution's
wake-up token, and queues the approvers' notifications on commit. The execution waits like a
delay (until the timeout, or with no wake-up at all), holding no worker. A decision
(``automations.approvals.decide``) records itself on the request only while it is pending and wakes
the execution only while it still waits on that token, in one transaction; the run then reads the
decision from the request. At the timeout the run marks the request timed out, if it is still
pending, and takes ``on_timeout``.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from automations import clock
from automations.durations import parse as parse_duration
from automations.engine.queueing import NOTIFY_APPROVERS, enqueue
from automations.models import ApprovalRequest, ApprovalStatus, Execution
from automations.steps.approval import decision_output


def ask(execution: Execution, token: int, waits_for: dict[str, Any], loop_index: str) -> None:
    """Store the request of a wait that has just begun (inside its transaction); the approvers are
    notified once it is committed. A wait begun again (the run was woken before its time) moves its
    request to the new wake-up token."""
    if waits_for.get("again"):
        ApprovalRequest.objects.filter(execution_id=execution.pk, step_key=waits_for["step"], loop_index=loop_index,
                                       status=ApprovalStatus.PENDING).update(wait_token=token)
        return
    request = ApprovalRequest.objects.create(
        execution_id=execution.pk, step_key=waits_for["step"], loop_index=loop_index, wait_token=token,
        ask=waits_for["ask"], details=waits_for["details"], approvers=waits_for["approvers"],
        expires_at=waits_for["until"], on_timeout=waits_for["on_timeout"], created_at=clock.now())
    if waits_for["messages"]:
        enqueue(NOTIFY_APPROVERS, request.pk, waits_for["messages"])


def result(execution: Execution, step_key: str, loop_index: str, until: datetime | None,
           now: datetime) -> dict[str, Any] | None:
    """The decision, now that the run is back: a person's, the default one at the timeout, or None
    when the run was woken before its time with no decision (it waits on)."""
    request = (ApprovalRequest.objects.filter(execution_id=execution.pk, step_key=step_key, loop_index=loop_index)
               .select_related("decided_by").order_by("-pk").first())
    if request is None:
        return None
    if request.status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED):
        by = request.decided_by.get_username() if request.decided_by else None
        return decision_output(request.status, by, request.comment)
    if until is not None and now >= until:
        ApprovalRequest.objects.filter(pk=request.pk, status=ApprovalStatus.PENDING).update(
            status=ApprovalStatus.TIMED_OUT, decided_at=now)
        return decision_output(request.on_timeout or "timed_out", None, "", timed_out=True)
    return None


def decision_of(chosen: Any) -> tuple[str, timedelta]:
    """A test's decision for an approval step and how long after the request it is taken:
    ``"rejected"`` (at once) or ``{"decision": "rejected", "after": "1d"}``."""
    if isinstance(chosen, dict):
        return chosen["decision"], parse_duration(chosen.get("after") or "0s")
    return chosen, timedelta(0)


def rehearse(test_run: Any, waits_for: dict[str, Any]) -> datetime:
    """How the wait ends in test mode (``engine.simulation``), and when: with the test's decision
    for the step (``decision_of``) that long after the request, or at the timeout with
    ``on_timeout`` when the decision is ``timed_out`` or would come too late."""
    now, until = clock.now(), waits_for["until"]
    decision, after = decision_of(test_run.decisions.get(waits_for["step"], test_run.decision))
    # as live: a decision taken at or after the timeout is too late, the timeout decides
    if until is not None and (decision == "timed_out" or now + after >= until):
        test_run.waited[waits_for["step"]] = decision_output(waits_for["on_timeout"] or "timed_out", None, "",
                                                             timed_out=True)
        return until
    # without a timeout an approval cannot time out: it is approved
    test_run.waited[waits_for["step"]] = decision_output("approved" if decision == "timed_out" else decision,
                                                         "test", "")
    return now + after
