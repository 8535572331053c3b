"""Approval requests as people meet them: who may decide, the decision, and the approvers'
notifications. Shared by the API, the admin and the run view (the engine's side of the step is
``automations.engine.approvals``)."""
from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet

from automations import clock, outbound
from automations.actions.communication import default_from
from automations.conf import app_settings
from automations.engine.queueing import RESUME_EXECUTION, enqueue
from automations.errors import StateConflict
from automations.models import ApprovalRequest, ApprovalStatus, Execution
from automations.status import ExecutionStatus
from automations.steps.approval import DECIDE_PERMISSION

logger = logging.getLogger("automations")

DECISIONS = (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED)


def may_decide(user: Any, request: ApprovalRequest) -> bool:
    """Whether ``user`` may decide ``request``: ``automations.decide_approval``, the step's own
    permission if it names another, and membership of one of its groups if it names any."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm(DECIDE_PERMISSION):
        return False
    approvers = request.approvers or {}
    permission = approvers.get("permission") or DECIDE_PERMISSION
    if not user.has_perm(permission):
        return False
    groups = approvers.get("groups") or []
    return not groups or user.is_superuser or user.groups.filter(name__in=groups).exists()


def pending() -> QuerySet[ApprovalRequest]:
    """Requests still waiting for a decision (their run still waits for it)."""
    return ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, execution__status=ExecutionStatus.WAITING)


def decide(request: ApprovalRequest, user: Any, decision: str, comment: str = "") -> ApprovalRequest:
    """Approve or reject ``request`` as ``user``; the run goes on with the decision.

    :class:`PermissionDenied` if the user may not decide it, :class:`StateConflict` if it is
    decided already, timed out, or its run no longer waits for it (canceled, say)."""
    if decision not in DECISIONS:
        raise ValueError(f"{decision!r} is not a decision")
    if not may_decide(user, request):
        raise PermissionDenied("you may not decide this approval request")
    now = clock.now()
    if request.status != ApprovalStatus.PENDING:
        raise StateConflict(f"this request is {request.status} already", field="")
    if ApprovalRequest.objects.filter(pk=request.pk, status=ApprovalStatus.PENDING).exclude(
            execution__status__in=(ExecutionStatus.WAITING, ExecutionStatus.RUNNING)).update(
            status=ApprovalStatus.CANCELED, decided_at=now):
        raise StateConflict("the run no longer waits for this decision: it has ended", field="")
    with transaction.atomic():
        # The execution row first (the order a resuming worker takes them in), then the request.
        woken = Execution.objects.filter(pk=request.execution_id, status=ExecutionStatus.WAITING,
                                         wait_token=request.wait_token).update(wake_at=now)
        decided = ApprovalRequest.objects.filter(pk=request.pk, status=ApprovalStatus.PENDING).update(
            status=decision, decided_by=user, comment=comment, decided_at=now)
        if not woken or not decided:
            transaction.set_rollback(True)
            request.refresh_from_db()
            raise StateConflict(f"this request is {request.status} already", field="")
        enqueue(RESUME_EXECUTION, request.execution_id, request.wait_token)
    request.refresh_from_db()
    return request


def notify(request_id: int, messages: list[dict[str, Any]]) -> None:
    """Send the approvers' messages (a django-q2 task, queued when the request is stored). A
    channel that fails is logged; it does not stop the others nor the run, which waits either way."""
    for message in messages:
        try:
            if message["channel"] == "email":
                EmailMessage(message["subject"], f"{message['body']}\n\nDecide in the admin (Automations -> "
                             f"Approval requests, #{request_id}) or through the API: POST approvals/{request_id}/"
                             "approve/ or reject/.", default_from(), message["to"],
                             headers={"Message-ID": f"<approval-{request_id}@automations>"}).send()
            elif app_settings.SLACK_WEBHOOK_URL:
                outbound.request("POST", app_settings.SLACK_WEBHOOK_URL, secret_path=True,
                                 json={"text": f"{message['text']} (approval request #{request_id})"})
            else:
                logger.warning("approval %s: no AUTOMATIONS['SLACK_WEBHOOK_URL'] to notify on Slack", request_id)
        except Exception:
            logger.exception("approval %s: the %s notification failed", request_id, message["channel"])
