"""The ORM broker, whose puller and result saver wait out a database restart."""
from __future__ import annotations

from typing import Any

from django.db import connections
from django_q.brokers import orm
from django_q.conf import Conf
from django_q.tasks import async_task

from automations.brokers import ACKNOWLEDGE_SECONDS, Outage
from automations.engine.outage import DATABASE_DOWN
from automations.engine.queueing import RUN_DUE, task_options


class ORM(orm.ORM):
    """The ORM broker; its puller and result saver wait out a database restart."""

    def __init__(self, list_key: str | None = None) -> None:
        super().__init__(list_key=list_key)
        self._outage = Outage(f"the database {Conf.ORM!r}")

    def dequeue(self) -> Any:
        try:
            tasks = super().dequeue()
        except DATABASE_DOWN as exc:
            connections[Conf.ORM].close()  # never usable again; the next poll opens a new one
            self._outage.failed(exc)
            return None
        if self._outage.answered():
            # What fell due while the database was away runs now, not at the next tick.
            async_task(RUN_DUE, **task_options(), broker=self)
        return tasks

    def acknowledge(self, task_id: Any) -> Any:
        def acknowledge() -> Any:
            try:
                return super(ORM, self).acknowledge(task_id)
            except DATABASE_DOWN:
                connections[Conf.ORM].close()
                raise

        return self._outage.retry(acknowledge, DATABASE_DOWN, seconds=ACKNOWLEDGE_SECONDS)
