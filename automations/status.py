"""Statuses of versions, executions and step runs, and which transitions are allowed."""
from __future__ import annotations

from django.db import models


class VersionState(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"


class ExecutionStatus(models.TextChoices):
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    # "Completed", not "Succeeded": a run that went on past a declined payment completes its
    # steps without collecting anything, and an operator reads "succeeded" as "paid".
    SUCCEEDED = "succeeded", "Completed"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


LIVE_STATUSES = (ExecutionStatus.RUNNING, ExecutionStatus.WAITING)
FINISHED_STATUSES = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELED)

#: Where an execution may go from each status; every status change (``engine.transitions``, the
#: only writer of an execution's status after it is created) goes through it.
EXECUTION_TRANSITIONS: dict[str, tuple[str, ...]] = {
    # waiting -> waiting: an operator's "Resume now" brings the pending wake-up forward
    ExecutionStatus.WAITING: (ExecutionStatus.RUNNING, ExecutionStatus.WAITING, ExecutionStatus.CANCELED),
    ExecutionStatus.RUNNING: (ExecutionStatus.WAITING, ExecutionStatus.RUNNING, *FINISHED_STATUSES),
    ExecutionStatus.FAILED: (ExecutionStatus.WAITING,),  # retry from the failed step
    ExecutionStatus.SUCCEEDED: (),
    ExecutionStatus.CANCELED: (),
}


def sources_of(target: str) -> list[str]:
    """The statuses from which an execution may move to ``target``."""
    return [source for source, targets in EXECUTION_TRANSITIONS.items() if target in targets]


class Where(models.TextChoices):
    """Where a person pressed a run's button (cancel, resume now), as the recorded reason says it."""
    ADMIN = "admin", "in the admin"
    API = "api", "through the API"


class StepRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    # A worker died while the attempt was under way; what it did is resolved by its idempotency key.
    INTERRUPTED = "interrupted", "Interrupted"
    # A message held back by its send window or a frequency cap: the run waits, the step has not
    # been attempted (the row is not an attempt; its output says until when and why).
    DEFERRED = "deferred", "Deferred"


class StopStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class Reentry(models.TextChoices):
    ALLOW = "allow", "Allow"
    SKIP_IF_RUNNING = "skip_if_running", "Skip if running"
    ONCE = "once", "Once per correlation key"


class OnFailure(models.TextChoices):
    FAIL = "fail", "Fail the execution"
    CONTINUE = "continue", "Continue with the next step"


class TriggerType(models.TextChoices):
    EVENT = "event", "Event"
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Manual"


class BacktestStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class RunTallied(models.IntegerChoices):
    """What the outcome tallies have counted of a run (``Execution.tallied``)."""

    NOTHING = 0, "Nothing yet"
    # A finished run retried from its failed step: its end is taken back until it ends again.
    START = 1, "Its start"
    ALL = 2, "Its start and its end"
