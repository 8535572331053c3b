"""Schedule slots: keep each scheduled automation's next slot (``models.schedule_slot``), and start
one execution per slot when it is due (several missed slots collapse into one catch-up run). When
a schedule fires is ``triggers.schedule_rules``."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction

from automations import clock
from automations.conf import app_settings
from automations.db import skip_locked
from automations.engine.start import start_execution, start_if_entered
from automations.models import Automation, ScheduleState
from automations.status import ExecutionStatus, TriggerType
from automations.triggers.schedule_rules import Schedule

logger = logging.getLogger("automations")


def schedule_of(automation: Automation) -> Schedule | None:
    version = automation.active_version
    trigger = (version.snapshot or {}).get("trigger", {}) if version else {}
    return Schedule(trigger["schedule"]) if trigger.get("type") == TriggerType.SCHEDULE else None


def plan(automation: Automation, now: datetime | None = None) -> None:
    """(Re)compute the next slot after ``now``: on activation and on resume, so that nothing from
    before (a paused period, an older schedule) is replayed."""
    schedule = schedule_of(automation)
    if schedule is None:
        ScheduleState.objects.filter(automation=automation).delete()
        return
    ScheduleState.objects.update_or_create(
        automation=automation, defaults={"next_at": schedule.next_after(now or clock.now()).at})


def fire_due(now: datetime) -> int:
    """Start the runs of every schedule whose next slot has come. Returns how many started."""
    due = skip_locked(ScheduleState.objects.filter(next_at__lte=now, automation__is_paused=False,
                                                   automation__active_version__isnull=False), of=("self",))
    started = 0
    with transaction.atomic():
        for state in due.select_related("automation__active_version")[: app_settings.SWEEP_BATCH]:
            automation = state.automation
            schedule = schedule_of(automation)
            if schedule is None:
                state.delete()
                continue
            slot = schedule.latest_at_or_before(now, after=state.next_at - timedelta(microseconds=1))
            if slot is not None:
                trigger = {"type": TriggerType.SCHEDULE, "slot": slot.at.isoformat(), "slot_key": slot.key}
                try:
                    # A savepoint per slot: one automation's failure (its gateway is down, say) must
                    # not roll back the other schedules of this pass.
                    with transaction.atomic():
                        execution = start_if_entered(automation, automation.active_version, trigger=trigger,
                                                     data={}, slot_key=slot.key)
                except Exception as exc:  # recorded as a failed run of that slot, visible to operators
                    logger.exception("%s: could not start the run of slot %s", automation, slot.key)
                    execution = start_execution(automation, automation.active_version, trigger=trigger, data={},
                                                slot_key=slot.key, error=f"could not start: {type(exc).__name__}: {exc}")
                if execution is not None and execution.status != ExecutionStatus.FAILED:
                    started += 1
                state.last_slot_at, state.last_slot_key = slot.at, slot.key
            state.next_at = schedule.next_after(now).at
            state.save()
    return started
