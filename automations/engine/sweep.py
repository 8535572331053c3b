"""The tick's sweep, everything that is due: scheduled runs and derived-event scans start, drain
tasks are queued for due wake-ups and lost dispatches, executions whose worker died are resumed,
orphaned attempts settled, old rows pruned. Its cost grows with what is due, not with what is
waiting, and the tasks it queues with the cluster's workers, not with what is due."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django_q.conf import Conf

from automations.actions import ActionContext, registry
from automations.conf import app_settings
from automations.engine.queueing import RUN_DUE, queue_now, tasks_waiting
from automations.engine.transitions import recover_stale
from automations.models import Execution, StepRun
from automations.outcomes.fold import counted_at, fold
from automations.retention import prune_due
from automations.scope import to_json
from automations.status import FINISHED_STATUSES, ExecutionStatus, StepRunStatus
from automations.triggers.derived import run_due_scans
from automations.triggers.events import stale_dispatches
from automations.triggers.schedule_slots import fire_due

logger = logging.getLogger("automations")


@dataclass
class SweepResult:
    due: int = 0
    recovered: int = 0
    scheduled: int = 0
    derived: int = 0
    pruned: int = 0
    settled: int = 0
    folded: int = 0
    errors: list[str] = field(default_factory=list)


#: Due items one drain task is expected to take within its time budget: a sweep queues one task
#: per this many, up to the cluster's workers.
DUE_PER_TASK = 10


def hand_out_due(now: datetime) -> int:
    """Queue drain tasks for the due wake-ups and the dispatches that should have happened: one
    per ``DUE_PER_TASK`` of them, no more than the cluster has workers, less the tasks already
    waiting in the queue. The drains claim the work from the database themselves, so a backlog
    costs no more tasks however many ticks it lasts, and a lost task strands nothing: the next
    tick finds the work still due. Returns how many items are due."""
    due = (Execution.objects.filter(status=ExecutionStatus.WAITING, wake_at__lte=now)
           .values("pk")[: app_settings.SWEEP_BATCH].count())
    due += stale_dispatches(now).values("pk")[: app_settings.SWEEP_BATCH].count()
    if due:
        wanted = min(math.ceil(due / DUE_PER_TASK), max(1, Conf.WORKERS))
        for _ in range(wanted - tasks_waiting()):
            queue_now(RUN_DUE)
    return due


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


#: Transactions of the outcome tallies' fold one pass runs (``automations.outcomes.fold.BATCH``
#: rows each), at most every ``FOLD_EVERY``: what is left is counted by the next pass, or by a
#: request for the figures (which counts a little first). Not every tick: a busy cluster ticks often.
FOLD_BATCHES_PER_TICK = 20
FOLD_EVERY = timedelta(minutes=1)


def fold_outcomes(now: datetime) -> int:
    """Count finished steps and runs into the outcome tallies. Returns how many rows it counted.
    The gate only reads (when the tallies last counted something): a tick with nothing to count
    writes nothing, so a row updated at every tick never piles up versions on PostgreSQL."""
    last = counted_at()
    if last is not None and now - last < FOLD_EVERY:
        return 0
    folded = fold(batches=FOLD_BATCHES_PER_TICK)
    return folded.runs + folded.step_runs


def sweep(now: datetime) -> SweepResult:
    """Every part of the pass runs even if another fails (a billing system that is down for the
    derived-event scans must not stop due executions from waking); failures are logged and the
    next tick tries again."""
    result = SweepResult()
    parts = (("scheduled", fire_due), ("derived", run_due_scans), ("recovered", recover_dead_workers),
             ("due", hand_out_due), ("settled", settle_orphaned_attempts),
             ("pruned", prune_due), ("folded", fold_outcomes))
    for name, part in parts:
        try:
            setattr(result, name, part(now))
        except Exception:
            logger.exception("tick: %s failed; the other parts went on", name)
            result.errors.append(name)
    return result
