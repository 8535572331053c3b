"""The one recurring django-q2 schedule that drives the tick (``automations.engine.tick``).

Waits live in the execution table (indexed by wake-up time), not in django-q2 schedules: its
scheduler has no index on ``next_run`` and one bad one-off schedule rolls back a whole pass.
"""
from __future__ import annotations

from typing import Any

from django_q.models import Schedule

from automations.conf import app_settings
from automations.engine.queueing import TICK

TICK_FUNC = TICK
TICK_NAME = "automations.tick"


def ensure_tick_schedule(**kwargs: Any) -> None:
    """Create (or correct) the recurring tick schedule; run after every migrate."""
    Schedule.objects.update_or_create(
        name=TICK_NAME,
        defaults={"func": TICK_FUNC, "schedule_type": Schedule.MINUTES, "minutes": app_settings.TICK_MINUTES,
                  "repeats": -1},
    )
