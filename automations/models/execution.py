"""Executions (one run of an automation version) and their step log."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from automations.status import ExecutionStatus, RunTallied, StepRunStatus, Where


class Execution(models.Model):
    """One run of an automation, pinned to the version it started on."""

    automation = models.ForeignKey("automations.Automation", on_delete=models.CASCADE, related_name="executions")
    version = models.ForeignKey("automations.AutomationVersion", on_delete=models.CASCADE,
                                related_name="executions")
    status = models.CharField(max_length=10, choices=ExecutionStatus.choices, default=ExecutionStatus.WAITING)
    trigger = models.JSONField(default=dict, help_text="How the run started: event, schedule slot or manual caller.")
    event = models.ForeignKey("billing_events.Event", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="executions")
    data = models.JSONField(default=dict, help_text="The trigger's data: the event payload or the manual context.")
    correlation_value = models.CharField(max_length=255, blank=True, db_index=True)
    # Re-entry guards, enforced by unique constraints so that two starts racing each other cannot
    # both win: live_key (reentry skip_if_running) is cleared when the execution ends, once_key
    # (reentry once) never is.
    live_key = models.CharField(max_length=255, null=True, blank=True, editable=False)
    once_key = models.CharField(max_length=255, null=True, blank=True, editable=False)
    # A scheduled run's slot (local wall time in the schedule's zone): one execution per slot.
    slot_key = models.CharField(max_length=40, null=True, blank=True, editable=False)
    cursor = models.JSONField(default=list, help_text="Where the run is: a stack of frames.")
    outputs = models.JSONField(default=dict, help_text="Output of each finished step, by step key.")
    # A wake-up is this row: due when status is waiting and wake_at has passed. wait_token changes
    # with every wait so that a stale or duplicated wake-up task finds nothing to do.
    wake_at = models.DateTimeField(null=True, blank=True)
    wait_token = models.PositiveIntegerField(default=0)
    # The step a waiting run waits at (the one its wait names, else the last it logged): written in
    # the UPDATE that starts the wait, so the figures count waiting runs by step with one GROUP BY.
    waiting_at = models.CharField(max_length=100, blank=True, default="", editable=False)
    # The worker running the execution holds a lease; a lease past its expiry means the worker died.
    lease_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    status_reason = models.CharField(max_length=500, blank=True)
    # A person's cancellation, as the run page says it: "Canceled by alice in the admin: customer
    # paid by bank transfer" (status_reason keeps the same words for lists and the API).
    canceled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    canceled_in = models.CharField(max_length=10, choices=Where.choices, blank=True)
    cancel_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    #: What the outcome tallies have counted of this run (``RunTallied``).
    tallied = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["automation", "event"], condition=models.Q(event__isnull=False),
                                    name="one_execution_per_event"),
            models.UniqueConstraint(fields=["automation", "live_key"], condition=models.Q(live_key__isnull=False),
                                    name="one_live_execution_per_key"),
            models.UniqueConstraint(fields=["automation", "once_key"], condition=models.Q(once_key__isnull=False),
                                    name="one_execution_ever_per_key"),
            models.UniqueConstraint(fields=["automation", "slot_key"], condition=models.Q(slot_key__isnull=False),
                                    name="one_execution_per_slot"),
        ]
        indexes = [
            models.Index(fields=["wake_at"], condition=models.Q(status="waiting"), name="execution_due_idx"),
            models.Index(fields=["lease_expires_at"], condition=models.Q(status="running"),
                         name="execution_lease_idx"),
            models.Index(fields=["automation", "status"], name="execution_automation_idx"),
            # pruning finds finished executions past the retention period through this one
            models.Index(fields=["finished_at"], condition=models.Q(finished_at__isnull=False),
                         name="execution_finished_idx"),
            # the outcome tallies' fold finds finished runs it has not counted yet
            models.Index(fields=["id"], condition=models.Q(tallied__lt=RunTallied.ALL, finished_at__isnull=False),
                         name="execution_untallied_idx"),
            # the figures read the starts the tallies do not hold yet (live runs) through this one
            models.Index(fields=["automation", "started_at"], condition=models.Q(tallied=RunTallied.NOTHING),
                         name="execution_uncounted_idx"),
            # the figures count the runs waiting at each step now through this one
            models.Index(fields=["automation", "waiting_at"], condition=models.Q(status="waiting"),
                         name="execution_waiting_at_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.automation} ({self.status})"

    @property
    def version_number(self) -> int:
        return self.version.number


class StepRun(models.Model):
    """One attempt at one step: what went in, what came out, and how it ended."""

    # Indexed with its start (below): the step log in order, and a run's last step, are one index scan.
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="step_runs", db_index=False)
    step_key = models.CharField(max_length=100)
    step_type = models.CharField(max_length=10)
    action = models.CharField(max_length=100, blank=True)
    loop_index = models.CharField(max_length=50, blank=True, help_text="Position in enclosing loops, e.g. 2 or 2.1")
    attempt = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=StepRunStatus.choices, default=StepRunStatus.RUNNING)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    #: Counted in the outcome tallies (once it has finished).
    tallied = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["started_at", "pk"]
        constraints = [
            # The database itself refuses a second run of the same attempt of the same step (a
            # deferral is not a run: a message may wait for its window, then a cap, before attempt 1).
            models.UniqueConstraint(fields=["execution", "step_key", "loop_index", "attempt"],
                                    condition=~models.Q(status="deferred"), name="one_run_per_attempt"),
        ]
        indexes = [
            # the sweep settles attempts a dead worker left "running" in a run that has ended
            models.Index(fields=["started_at"], condition=models.Q(status="running"), name="steprun_running_idx"),
            models.Index(fields=["execution", "started_at", "id"], name="steprun_in_order_idx"),
            # the outcome tallies' fold finds what it has not counted yet
            models.Index(fields=["id"], condition=models.Q(tallied=False), name="steprun_untallied_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.step_key} #{self.attempt} {self.status}"

    @property
    def idempotency_key(self) -> str:
        return f"{self.execution_id}:{self.step_key}:{self.loop_index or 0}"
