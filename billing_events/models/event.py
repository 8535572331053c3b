"""The event inbox: every billing event received, stored once by its id."""
from __future__ import annotations

from django.db import models

from billing_events import clock


class Event(models.Model):
    """A billing event. ``id`` is the sender's idempotency key: the same id is stored once."""

    id = models.CharField(primary_key=True, max_length=255)
    type = models.CharField(max_length=100, db_index=True)
    data = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=clock.now, editable=False)
    # Set once every automation has seen the event; a sweep re-dispatches events left unset
    # (a worker died or a queued task was lost), so an event is never silently dropped.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # When a drain task last took the dispatch over: at most once per REDISPATCH_SECONDS, so
    # several drains do not take the same event.
    queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How far the metrics' counts hold the event: 0 not yet, 1 received, 2 received and dispatched
    # (set by the outcomes' fold in the transaction that counts it, so it is counted once).
    counted = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-received_at"]
        permissions = [("ingest_event", "Can send events through the API")]
        indexes = [
            models.Index(fields=["dispatched_at", "received_at"], name="event_undispatched_idx",
                         condition=models.Q(dispatched_at__isnull=True)),
            models.Index(fields=["received_at"], name="event_received_idx"),  # pruning old events
            models.Index(fields=["counted"], name="event_uncounted_idx", condition=models.Q(counted__lt=2)),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
