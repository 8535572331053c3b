"""Riding out a database outage inside a task: the worker waits for the database to answer again
instead of failing the task, so a restart of PostgreSQL costs the seconds it lasts, not a sweep
window (a failed task is gone with the Redis broker, and acknowledged with the ORM broker)."""
from __future__ import annotations

import logging
import time

from django.db import InterfaceError, OperationalError, connections
from django_q.conf import Conf

logger = logging.getLogger("automations")

#: What the database driver raises when the server is gone or refuses connections (Django wraps
#: psycopg's and sqlite3's errors in these).
DATABASE_DOWN = (OperationalError, InterfaceError)

class DatabaseStillDown(Exception):
    """The database did not answer again before the task's time limit."""


#: Seconds a task keeps from its time limit (django-q2's ``timeout``) for the work after the wait.
_MARGIN_SECONDS = 5
#: Without a cluster time limit (``sync`` mode, or none configured), how long a task waits.
_DEFAULT_WAIT_SECONDS = 30


def give_up_at(started: float) -> float:
    """The ``time.monotonic()`` moment after which a task that began at ``started`` stops waiting
    for the database: before the cluster's time limit kills it."""
    limit = Conf.TIMEOUT if Conf.TIMEOUT and not Conf.SYNC else None
    return started + (limit - _MARGIN_SECONDS if limit else _DEFAULT_WAIT_SECONDS)


def wait_for_database(until: float) -> bool:
    """Drop the broken connections and try again, with growing pauses, until the database answers
    (True) or ``until`` passes (False)."""
    pause = 0.25
    connection = connections["default"]
    while True:
        connection.close()  # a broken connection is never usable again; the next query opens one
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return True
        except DATABASE_DOWN:
            if time.monotonic() + pause > until:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 4.0)
