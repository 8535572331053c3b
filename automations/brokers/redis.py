"""The Redis broker, whose puller waits out a Redis restart (needs the ``redis`` extra)."""
from __future__ import annotations

from typing import Any

import redis
from django_q.brokers import redis_broker

from automations.brokers import Outage


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
        self._outage.answered()
        return tasks
