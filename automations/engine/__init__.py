"""The engine: runs executions, wakes them, and drives everything that is due."""
from __future__ import annotations

from datetime import datetime

from automations import clock
from automations.engine import sweep as sweep_module  # binding the function `sweep` here would hide the module
from automations.engine.sweep import SweepResult


def tick(now: datetime | None = None) -> SweepResult:
    """One pass of everything that is due at ``now`` (default: the clock's now).

    The worker cluster runs it on a recurring schedule; a host without the cluster's scheduler can
    run ``manage.py automations_tick`` from cron.
    """
    return sweep_module.sweep(now or clock.now())


__all__ = ["tick"]
