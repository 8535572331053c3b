"""The tick's sweep, everything that is due: scheduled runs and derived-event scans start, due
wake-ups go to the workers, executions whose worker died are resumed, lost dispatches are queued
again, orphaned attempts settled, old rows pruned. Its cost grows with what is due, not with what
is waiting."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from automations.actions import ActionContext, registry
from automations.conf import app_settings
from automations.db import skip_locked
from automations.engine.queueing import DISPATCH_EVENT, RESUME_EXECUTIONS, queue_now
from automations.engine.transitions import recover_stale
from automations.models import Execution, StepRun
from automations.retention import prune_due
from automations.scope import to_json
from automations.status import FINISHED_STATUSES, ExecutionStatus, StepRunStatus
from automations.triggers.derived import run_due_scans
from automations.triggers.schedule_slots import fire_due
from billing_events.models import Event

logger = logging.getLogger("automations")


@dataclass
class SweepResult:
    woken: int = 0
    recovered: int = 0
    redispatched: int = 0
    scheduled: int = 0
    derived: int = 0
    pruned: int = 0
    settled: int = 0
    errors: list[str] = field(default_factory=list)


#: Wake-ups handed out per task: enough that the broker's tasks per second do not cap the steps
#: per second, few enough that a sweep's wake-ups still spread over the cluster's workers.
WAKE_UPS_PER_TASK = 10


def wake_due(now: datetime) -> int:
    """Queue resume tasks, ``WAKE_UPS_PER_TASK`` wake-ups each, for the waiting executions whose time has come."""
    batch = app_settings.SWEEP_BATCH
    requeue_before = now - timedelta(seconds=app_settings.REQUEUE_SECONDS)
    with transaction.atomic():
        due = list(skip_locked(
            Execution.objects.filter(status=ExecutionStatus.WAITING, wake_at__lte=now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=requeue_before))
            .order_by("wake_at").values_list("pk", "wait_token")[:batch]
        ))
        # Marked as queued so the next sweep does not queue them again; a wake-up whose task is
        # lost is queued again after REQUEUE_SECONDS.
        Execution.objects.filter(pk__in=[pk for pk, _ in due]).update(enqueued_at=now)
    for start in range(0, len(due), WAKE_UPS_PER_TASK):
        chunk = [[pk, token] for pk, token in due[start:start + WAKE_UPS_PER_TASK]]
        queue_now(RESUME_EXECUTIONS, chunk)
    return len(due)


def recover_dead_workers(now: datetime) -> int:
    """Executions left running by a worker that died are resumed from their cursor."""
    stale = list(Execution.objects.filter(status=ExecutionStatus.RUNNING, lease_expires_at__lte=now)
                 .values_list("pk", "lease_token")[: app_settings.SWEEP_BATCH])
    recovered = 0
    for pk, lease in stale:
        if recover_stale(pk, lease) is not None:
            recovered += 1
    return recovered


def settle_orphaned_attempts(now: datetime) -> int:
    """Attempts left "running" in a run that has ended: it was canceled (an exit_on event, an
    operator) while its worker died mid-step, so no worker will come back to it. Each is asked, by
    its idempotency key, whether it took effect: succeeded with what it did, else interrupted."""
    cutoff = now - timedelta(seconds=app_settings.LEASE_SECONDS)
    orphans = list(StepRun.objects.filter(status=StepRunStatus.RUNNING, started_at__lte=cutoff,
                                          execution__status__in=FINISHED_STATUSES)[: app_settings.SWEEP_BATCH])
    for attempt in orphans:
        action = registry.get(attempt.action)
        context = ActionContext(execution_id=attempt.execution_id, step_key=attempt.step_key,
                                loop_index=attempt.loop_index, attempt=attempt.attempt, variables={}, now=now,
                                idempotency_key=attempt.idempotency_key)
        recovered = action.recover(context) if action else None
        outcome = ({"status": StepRunStatus.SUCCEEDED, "output": to_json(recovered),
                    "error": "the run ended while this attempt was under way; result recovered by idempotency key"}
                   if recovered is not None else
                   {"status": StepRunStatus.INTERRUPTED,
                    "error": "the run ended while this attempt was under way and its worker stopped"})
        StepRun.objects.filter(pk=attempt.pk, status=StepRunStatus.RUNNING).update(finished_at=now, **outcome)
    return len(orphans)


def redispatch_events(now: datetime) -> int:
    """Events stored but not dispatched after REDISPATCH_SECONDS (the task was lost, or is still
    waiting in a long queue) are queued again, each at most once per REDISPATCH_SECONDS."""
    cutoff = now - timedelta(seconds=app_settings.REDISPATCH_SECONDS)
    with transaction.atomic():
        pending = list(skip_locked(
            Event.objects.filter(dispatched_at__isnull=True, received_at__lte=cutoff)
            .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=cutoff))
            .order_by("received_at").values_list("pk", flat=True)[: app_settings.SWEEP_BATCH]
        ))
        Event.objects.filter(pk__in=pending).update(queued_at=now)
    for event_id in pending:
        queue_now(DISPATCH_EVENT, event_id)
    return len(pending)


def sweep(now: datetime) -> SweepResult:
    """Every part of the pass runs even if another fails (a billing system that is down for the
    derived-event scans must not stop due executions from waking); failures are logged and the
    next tick tries again."""
    result = SweepResult()
    parts = (("scheduled", fire_due), ("derived", run_due_scans), ("recovered", recover_dead_workers),
             ("woken", wake_due), ("redispatched", redispatch_events), ("settled", settle_orphaned_attempts),
             ("pruned", prune_due))
    for name, part in parts:
        try:
            setattr(result, name, part(now))
        except Exception:
            logger.exception("tick: %s failed; the other parts went on", name)
            result.errors.append(name)
    return result
