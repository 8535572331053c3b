"""The Redis broker, whose puller waits out a Redis restart (needs the ``redis`` extra)."""
from __future__ import annotations

from typing import Any

import redis
from django.utils import timezone
from django_q.brokers import redis_broker
from django_q.tasks import async_task

from automations.brokers import Outage
from automations.engine.queueing import RUN_DUE, task_options


class Redis(redis_broker.Redis):
    """The Redis broker; its puller waits out a Redis restart."""

    def __init__(self, list_key: str | None = None) -> None:
        super().__init__(list_key=list_key)
        self._outage = Outage("Redis")

    def dequeue(self) -> Any:
        try:
            tasks = super().dequeue()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._outage.failed(exc)
            return None
        if self._outage.answered():
            # Redis may have come back empty: whatever was queued before now may be gone. A drain
            # takes every dispatch still undone at once, and the wake-ups that are due.
            async_task(RUN_DUE, timezone.now().isoformat(), **task_options(), broker=self)
        return tasks
