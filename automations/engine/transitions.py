"""Every change of an execution's status, each one a guarded update allowed by the transition
table (``status.EXECUTION_TRANSITIONS``); an execution is created waiting (or failed) in
``engine.start``, and nothing else writes its status.

An update only applies when the row is still in the state the caller saw (the wake-up token for a
waiting execution, the lease token for a running one). A duplicated task, a stale wake-up or a
worker that lost its lease therefore changes nothing, on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F

from automations import clock
from automations.conf import app_settings
from automations.db import claim_first
from automations.models import Execution
from automations.status import EXECUTION_TRANSITIONS, FINISHED_STATUSES, ExecutionStatus, sources_of


class LeaseLost(Exception):
    """The execution is no longer this worker's to run (canceled, or resumed by another worker)."""


def allowed_from(source: str, target: str) -> str:
    """``source``, once the transition table allows ``source -> target`` (a ValueError if not)."""
    if target not in EXECUTION_TRANSITIONS[source]:
        raise ValueError(f"an execution may not go from {source} to {target}")
    return source


def _lease_expiry(now: datetime) -> datetime:
    return now + timedelta(seconds=app_settings.LEASE_SECONDS)


def new_lease() -> str:
    return uuid.uuid4().hex


def claim(execution_id: int, wait_token: int, lease: str | None = None) -> str | None:
    """waiting -> running, if ``wait_token`` is still the execution's current wake-up. Returns the
    lease token the worker must present for every later change (``lease`` if given: a worker that
    loses its connection during the claim still knows what it may hold), or None when there is
    nothing to do."""
    lease = lease or new_lease()
    now = clock.now()
    source = allowed_from(ExecutionStatus.WAITING, ExecutionStatus.RUNNING)
    claimed = Execution.objects.filter(pk=execution_id, status=source, wait_token=wait_token).update(
        status=ExecutionStatus.RUNNING, lease_token=lease, lease_expires_at=_lease_expiry(now),
        wake_at=None,
    )
    return lease if claimed else None


def claim_next_due(lease: str) -> int | None:
    """The oldest due wake-up that no other worker is claiming, claimed under ``lease`` (waiting ->
    running): its execution id, or None when nothing is due (``db.claim_first``: workers draining
    at once take different executions)."""
    due = (Execution.objects.filter(status=ExecutionStatus.WAITING, wake_at__lte=clock.now())
           .order_by("wake_at").values_list("pk", "wait_token"))
    taken = claim_first(due, lambda row: claim(*row, lease) is not None)
    return taken[0] if taken else None


def wake_now(execution_id: int, wait_token: int, *, reason: str, **fields: Any) -> bool:
    """waiting -> waiting, due now: the pending wake-up ``wait_token`` is brought forward (an
    operator's "Resume now"). The token is kept, so whatever the wait registered under it (an
    event waiter) still counts, and the wake-up is claimed once (``claim``) however many tasks
    carry it. False when the execution no longer waits on that token."""
    now = clock.now()
    source = allowed_from(ExecutionStatus.WAITING, ExecutionStatus.WAITING)
    return bool(Execution.objects.filter(pk=execution_id, status=source, wait_token=wait_token).update(
        wake_at=now, status_reason=reason[:500], **fields,
    ))


def save_progress(execution_id: int, lease: str, **fields: Any) -> None:
    """Store the cursor and outputs after a step and renew the lease; LeaseLost if it is gone."""
    source = allowed_from(ExecutionStatus.RUNNING, ExecutionStatus.RUNNING)
    updated = Execution.objects.filter(pk=execution_id, status=source, lease_token=lease).update(
        lease_expires_at=_lease_expiry(clock.now()), **fields
    )
    if not updated:
        raise LeaseLost(execution_id)


def wait(execution_id: int, lease: str, wake_at: datetime, **fields: Any) -> int:
    """running -> waiting until ``wake_at``; returns the new wake-up token."""
    source = allowed_from(ExecutionStatus.RUNNING, ExecutionStatus.WAITING)
    updated = Execution.objects.filter(pk=execution_id, status=source, lease_token=lease).update(
        status=ExecutionStatus.WAITING, wake_at=wake_at, wait_token=F("wait_token") + 1, lease_token="",
        lease_expires_at=None, **fields,
    )
    if not updated:
        raise LeaseLost(execution_id)
    return Execution.objects.values_list("wait_token", flat=True).get(pk=execution_id)


def finish(execution_id: int, lease: str, status: str, *, error: str = "", reason: str = "", **fields: Any) -> None:
    """running -> succeeded, failed or canceled."""
    if status not in FINISHED_STATUSES:
        raise ValueError(f"{status!r} is not a final status")
    source = allowed_from(ExecutionStatus.RUNNING, status)
    updated = Execution.objects.filter(pk=execution_id, status=source, lease_token=lease).update(
        status=status, error=error[:5000], status_reason=reason[:500], finished_at=clock.now(), lease_token="",
        lease_expires_at=None, wake_at=None, live_key=None, **fields,
    )
    if not updated:
        raise LeaseLost(execution_id)


def cancel(execution_id: int, reason: str) -> bool:
    """running or waiting -> canceled. A pending wake-up then finds nothing to do, and a worker in
    the middle of a step stops at its next save. Returns False if the execution had already ended."""
    return bool(Execution.objects.filter(
        pk=execution_id, status__in=sources_of(ExecutionStatus.CANCELED)).update(
        status=ExecutionStatus.CANCELED, status_reason=reason[:500], finished_at=clock.now(), wake_at=None,
        lease_token="", lease_expires_at=None, live_key=None,
    ))


def recover_stale(execution_id: int, lease: str) -> int | None:
    """running with an expired lease (its worker died) -> waiting, due now. Returns the wake-up token."""
    return _resume_from_cursor(execution_id, lease, lease_expires_at__lte=clock.now())


def release(execution_id: int, lease: str) -> int | None:
    """running -> waiting, due now, by the worker holding ``lease`` that cannot go on (the database
    went away in the middle of a step): the run resumes from its cursor as after a crash, without
    waiting for the lease to expire. Returns the wake-up token."""
    return _resume_from_cursor(execution_id, lease)


def _resume_from_cursor(execution_id: int, lease: str, **guard: Any) -> int | None:
    source = allowed_from(ExecutionStatus.RUNNING, ExecutionStatus.WAITING)
    updated = Execution.objects.filter(pk=execution_id, status=source, lease_token=lease, **guard).update(
        status=ExecutionStatus.WAITING, wake_at=clock.now(), wait_token=F("wait_token") + 1, lease_token="",
        lease_expires_at=None,
    )
    if not updated:
        return None
    return Execution.objects.values_list("wait_token", flat=True).get(pk=execution_id)


def retry_failed(execution_id: int, cursor: list[dict[str, Any]]) -> int | None:
    """failed -> waiting, due now, resuming from ``cursor`` (the failed step, next attempt).
    Returns the wake-up token, or None if the execution is not failed (any more)."""
    source = allowed_from(ExecutionStatus.FAILED, ExecutionStatus.WAITING)
    updated = Execution.objects.filter(pk=execution_id, status=source).update(
        status=ExecutionStatus.WAITING, wake_at=clock.now(), wait_token=F("wait_token") + 1, finished_at=None,
        error="", status_reason="retried from the failed step", cursor=cursor,
    )
    if not updated:
        return None
    return Execution.objects.values_list("wait_token", flat=True).get(pk=execution_id)
