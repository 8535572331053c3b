"""Retention: what is deleted once it is older than ``AUTOMATIONS["RETENTION_DAYS"]``, in batches.

- finished executions (succeeded, failed, canceled) with their step log, once the outcome tallies
  have counted them (``automations.outcomes``), except those that enforce ``reentry: once`` (their
  row is what makes "once" hold);
- events that were dispatched and that no remaining execution points to;
- history rows (django-simple-history) of both apps, except the latest row of each object that
  still exists, so every object keeps its last "who changed what";
- django-q2 results (successes and failures) of the engine's tasks and of the tick.

Nothing a live execution needs is touched: a live execution is never finished, its event is
pointed to, and its step log goes only with it. Tasks people work on and billing records stay.
An event id is remembered as long as its event is kept: one delivered again after that is new.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from django.apps import apps
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_q.models import Task

from automations import clock
from automations.conf import app_settings
from automations.engine.queueing import PRUNE, enqueue
from automations.engine.tick_schedule import TICK_NAME
from automations.models import DerivedScan, Execution, StepRun
from automations.outcomes.fold import fold
from automations.status import FINISHED_STATUSES, RunTallied
from billing_events.models import Event

HISTORY_APPS = ("automations", "billing_events")
#: How many batches of each kind one prune task deletes before it queues the next (the command
#: goes on until done), so no task outlives the worker's timeout.
TASK_BATCHES = 10


@dataclass
class PruneResult:
    executions: int = 0
    step_runs: int = 0
    events: int = 0
    history: int = 0
    task_results: int = 0
    #: Whether ``max_batches`` stopped a kind before it was done.
    more: bool = field(default=False, repr=False)

    def __str__(self) -> str:
        return ", ".join(f"{kind.name.replace('_', ' ')} {getattr(self, kind.name)}" for kind in fields(self)
                         if kind.name != "more")


def _delete_in_batches(queryset: models.QuerySet, batch: int, max_batches: int | None,
                       result: PruneResult) -> dict[str, int]:
    """Delete the rows of ``queryset`` a batch at a time, each batch in its own transaction;
    returns how many rows of each model went (related rows deleted with them included)."""
    deleted: dict[str, int] = {}
    done = 0
    while True:
        with transaction.atomic():
            keys = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch])
            if not keys:
                break
            _, per_model = queryset.model._default_manager.filter(pk__in=keys).delete()
        for label, count in per_model.items():
            deleted[label] = deleted.get(label, 0) + count
        done += 1
        if len(keys) < batch:
            break  # that was the last of them
        if max_batches is not None and done >= max_batches:
            result.more = True
            break
    return deleted


def _history_models() -> list[type[models.Model]]:
    found = []
    for label in HISTORY_APPS:
        for model in apps.get_app_config(label).get_models():
            history = getattr(model, "history", None)
            if history is not None and hasattr(history, "model"):
                found.append(history.model)
    return found


def prune(now: datetime, *, days: float | None = None, batch: int | None = None,
          max_batches: int | None = None) -> PruneResult:
    """Delete what is older than ``days`` (default ``RETENTION_DAYS``) before ``now``;
    ``max_batches`` bounds the work per kind (None: until nothing is left)."""
    days = app_settings.RETENTION_DAYS if days is None else days
    batch = batch or app_settings.PRUNE_BATCH
    cutoff = now - timedelta(days=days)
    result = PruneResult()

    # A run goes once the outcome tallies have counted it and its steps: its figures outlive it.
    fold(batches=max_batches)
    finished = (Execution.objects.filter(status__in=FINISHED_STATUSES, finished_at__lt=cutoff, once_key__isnull=True,
                                         tallied=RunTallied.ALL)
                .exclude(Exists(StepRun.objects.filter(execution=OuterRef("pk"), tallied=False))))
    deleted = _delete_in_batches(finished, batch, max_batches, result)
    result.executions = deleted.get("automations.Execution", 0)
    result.step_runs = deleted.get("automations.StepRun", 0)

    # An event goes once dispatched and counted (the metrics' counters outlive it), and no run names it.
    events = (Event.objects.filter(received_at__lt=cutoff, dispatched_at__isnull=False, counted=2)
              .exclude(Exists(Execution.objects.filter(event=OuterRef("pk")))))
    result.events = _delete_in_batches(events, batch, max_batches, result).get("billing_events.Event", 0)

    for history in _history_models():
        key = history.instance_type._meta.pk.attname  # the object's id, kept in each history row
        # newer: later, or as late and written after (rows of one instant: a frozen or coarse clock)
        newer = history.objects.filter(Q(history_date__gt=OuterRef("history_date")) | Q(
            history_date=OuterRef("history_date"), history_id__gt=OuterRef("history_id")), **{key: OuterRef(key)})
        alive = history.instance_type._default_manager.filter(pk=OuterRef(key))
        old = history.objects.filter(history_date__lt=cutoff).filter(Q(Exists(newer)) | ~Exists(alive))
        result.history += sum(_delete_in_batches(old, batch, max_batches, result).values())

    # django-q2 stamps its results with the wall clock, not the apps' clock: judged by the wall clock.
    results = Task.objects.filter(group__in=["automations", TICK_NAME],
                                  stopped__lt=timezone.now() - timedelta(days=days))
    result.task_results = sum(_delete_in_batches(results, batch, max_batches, result).values())
    return result


def prune_due(now: datetime) -> int:
    """The tick's part: at most every PRUNE_MINUTES (nothing when RETENTION_DAYS is None), queue
    a prune task. Returns how many were queued (0 or 1)."""
    if app_settings.RETENTION_DAYS is None:
        return 0
    if not DerivedScan.claim("prune", now, timedelta(minutes=app_settings.PRUNE_MINUTES)):
        return 0
    enqueue(PRUNE)
    return 1


def prune_task() -> str:
    """A django-q2 task: a bounded share of the pruning; it queues the next share while there is more."""
    result = prune(clock.now(), max_batches=TASK_BATCHES)
    if result.more:
        enqueue(PRUNE)
    return str(result)
