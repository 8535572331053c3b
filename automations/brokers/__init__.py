"""django-q2's ORM and Redis brokers, made to ride out an outage of what they talk to.

Stock django-q2, when the database (ORM broker) or Redis goes away, lets the exception end the
cluster's puller after a ten-second pause and its result saver at the first acknowledgement; the
cluster's sentinel starts new ones, and work stops for that long each time. These brokers wait
instead, with growing pauses, and go on where they were as soon as the server answers.

Name one in the cluster's settings::

    Q_CLUSTER = {..., "orm": "default", "broker_class": "automations.brokers.orm.ORM"}
    Q_CLUSTER = {..., "redis": REDIS_URL, "broker_class": "automations.brokers.redis.Redis"}
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

logger = logging.getLogger("automations")

T = TypeVar("T")

#: The longest pause between two tries while a server is away.
MAX_PAUSE_SECONDS = 4.0
#: How long an acknowledgement is tried before it is given up: the broker then hands the task out
#: again after Q_CLUSTER's ``retry``, and the engine's guarded updates make the repeat harmless.
ACKNOWLEDGE_SECONDS = 60.0


class Outage:
    """Growing pauses while a server is away, and one log line when it goes and when it is back
    (not a traceback on every poll)."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.pause = 0.0
        self.since: float | None = None

    def failed(self, exc: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            logger.warning("%s went away (%s); the cluster waits for it", self.server, exc)
        self.pause = min(max(self.pause * 2, 0.25), MAX_PAUSE_SECONDS)
        time.sleep(self.pause)

    def answered(self) -> bool:
        """The server answered; True when it had been away."""
        was_away = self.since is not None
        if was_away:
            logger.warning("%s is back after %.1f s", self.server, time.monotonic() - self.since)
        self.since, self.pause = None, 0.0
        return was_away

    def retry(self, call: Callable[[], T], errors: tuple[type[BaseException], ...], *, seconds: float) -> T | None:
        """``call()`` until it succeeds (its result) or ``seconds`` pass (None)."""
        give_up = time.monotonic() + seconds
        while True:
            try:
                result = call()
            except errors as exc:
                if time.monotonic() >= give_up:
                    logger.warning("%s: gave up after %.0f s (%s)", self.server, seconds, exc)
                    return None
                self.failed(exc)
                continue
            self.answered()
            return result
