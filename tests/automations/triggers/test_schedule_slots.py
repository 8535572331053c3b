"""Scheduled automations fire once per slot, catch up once after downtime, and respect pause."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from automations import clock, services
from automations.models import Execution, Task
from automations.triggers.schedule_slots import fire_due

pytestmark = pytest.mark.django_db
UTC = timezone.utc


def scheduled(schedule: dict, **extra):
    automation = services.create_automation({
        "name": "Scheduled", "trigger": {"type": "schedule", "schedule": schedule},
        "steps": [{"key": "note", "type": "action", "action": "create_task",
                   "config": {"title": "Run for {{ schedule.slot }}"}}], **extra})
    services.activate(automation)
    return automation


def test_an_hourly_schedule_fires_at_each_slot_with_the_slot_in_its_context(engine):
    scheduled({"kind": "interval", "every": "1h"})  # the clock is at 10:00 UTC: next slot 11:00
    engine.advance(minutes=59)
    assert not Execution.objects.exists()
    engine.advance(minutes=1)
    engine.advance(hours=1)
    runs = list(Execution.objects.order_by("started_at"))
    assert [run.trigger["slot"] for run in runs] == ["2026-11-20T11:00:00+00:00", "2026-11-20T12:00:00+00:00"]
    assert all(run.status == "succeeded" for run in runs)
    assert Task.objects.order_by("pk").first().title == "Run for 2026-11-20T11:00:00+00:00"


def test_three_days_down_starts_one_catch_up_run_not_72(engine):
    scheduled({"kind": "interval", "every": "1h"})
    result = engine.advance(days=3, minutes=20)
    assert result.scheduled == 1
    assert Execution.objects.get().trigger["slot"] == "2026-11-23T10:00:00+00:00"
    engine.advance(minutes=40)
    assert Execution.objects.count() == 2


def test_a_paused_schedule_does_not_fire_and_resuming_does_not_replay(engine):
    automation = scheduled({"kind": "interval", "every": "1h"})
    services.pause(automation)
    engine.advance(hours=5)
    assert not Execution.objects.exists()
    services.resume(automation)
    engine.tick()
    assert not Execution.objects.exists(), "the paused hours are not replayed"
    engine.advance(hours=1)
    assert Execution.objects.get().trigger["slot"] == "2026-11-20T16:00:00+00:00"


def test_the_october_repeat_of_0230_runs_once(engine):
    clock.set_now(datetime(2026, 10, 24, 12, tzinfo=UTC))
    scheduled({"kind": "cron", "expression": "30 2 * * *", "timezone": "Europe/Berlin"})
    for _ in range(48):  # a sweep every 30 minutes for a day
        engine.advance(minutes=30)
    assert list(Execution.objects.values_list("slot_key", flat=True)) == ["2026-10-25T02:30"]


def test_a_slot_never_runs_twice_even_if_the_state_is_replayed(engine):
    automation = scheduled({"kind": "interval", "every": "1h"})
    engine.advance(hours=1)
    automation.schedule_state.refresh_from_db()
    state = automation.schedule_state
    state.next_at = state.last_slot_at  # as if a second sweeper had read the old state
    state.save()
    engine.tick()
    assert Execution.objects.count() == 1


def test_entry_conditions_apply_to_scheduled_runs(engine):
    scheduled({"kind": "interval", "every": "1h"},
              conditions={"all": [{"field": "schedule.slot", "operator": "greater_than",
                                   "value": "2026-11-20T11:30:00Z"}]})
    engine.advance(hours=1)
    assert not Execution.objects.exists()
    engine.advance(hours=1)
    assert Execution.objects.count() == 1


def test_a_new_version_without_a_schedule_stops_firing(engine):
    automation = scheduled({"kind": "interval", "every": "1h"})
    services.update_draft(automation, {"name": "Manual now", "trigger": {"type": "manual"},
                                       "steps": [{"key": "d", "type": "delay", "duration": "1d"}]})
    services.activate(automation)
    engine.advance(hours=3)
    assert not Execution.objects.exists()
    assert fire_due(clock.now() + timedelta(days=1)) == 0


def test_monday_0900_berlin_runs_once_each_week_across_the_march_change(engine):
    clock.set_now(datetime(2026, 3, 15, 12, tzinfo=UTC))
    scheduled({"kind": "cron", "expression": "0 9 * * 1", "timezone": "Europe/Berlin"})
    for _ in range(24 * 21):  # a sweep every hour for three weeks
        engine.advance(hours=1)
    runs = Execution.objects.order_by("started_at")
    assert list(runs.values_list("slot_key", flat=True)) == ["2026-03-16T09:00", "2026-03-23T09:00", "2026-03-30T09:00"]
    assert [run.trigger["slot"] for run in runs] == ["2026-03-16T08:00:00+00:00", "2026-03-23T08:00:00+00:00",
                                                     "2026-03-30T07:00:00+00:00"]


def test_a_failing_schedule_does_not_stop_the_others_or_the_wake_ups(engine, monkeypatch):
    from automations.engine import start

    good = scheduled({"kind": "interval", "every": "1h"})
    bad = scheduled({"kind": "interval", "every": "1h"}, conditions={"all": [
        {"field": "customer.id", "operator": "is_set"}]})
    real = start.check_entry

    def gateway_down(version, scope):
        if version.automation_id == bad.pk:
            raise ConnectionError("billing system unreachable")
        return real(version, scope)

    monkeypatch.setattr(start, "check_entry", gateway_down)
    result = engine.advance(hours=1)
    assert result.errors == [] and result.scheduled == 1
    assert Execution.objects.get(automation=good).status == "succeeded"
    failed = Execution.objects.get(automation=bad)
    assert failed.status == "failed" and "billing system unreachable" in failed.error
    engine.advance(hours=1)
    assert Execution.objects.filter(automation=good).count() == 2, "the next slot runs as usual"


def test_a_failing_part_of_the_tick_does_not_stop_wake_ups(engine, monkeypatch, dunning):
    from django.core import mail

    from tests.conftest import sample

    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    monkeypatch.setattr("automations.engine.sweep.run_due_scans",
                        lambda now: (_ for _ in ()).throw(ConnectionError("gateway down")))
    result = engine.advance(days=3)
    assert result.errors == ["derived"] and result.due == 1
    assert len(mail.outbox) == 2



NIGHTLY_BERLIN = {"kind": "cron", "expression": "30 2 * * *", "timezone": "Europe/Berlin"}


def test_activated_inside_the_skipped_hour_the_0230_run_still_happens(engine):
    clock.set_now(datetime(2026, 3, 29, 1, 10, tzinfo=UTC))  # Berlin already reads 03:10
    scheduled(NIGHTLY_BERLIN)
    engine.advance(minutes=30)
    assert Execution.objects.get().trigger["slot"] == "2026-03-29T01:30:00+00:00"


def test_resumed_inside_the_repeated_hour_the_0230_run_is_not_replayed(engine):
    clock.set_now(datetime(2026, 10, 24, 12, tzinfo=UTC))
    automation = scheduled(NIGHTLY_BERLIN)
    services.pause(automation)
    clock.set_now(datetime(2026, 10, 25, 1, 10, tzinfo=UTC))  # the second 02:10, after the first 02:30
    services.resume(automation)
    for _ in range(4):
        engine.advance(minutes=30)
    assert not Execution.objects.exists(), "the first 02:30 was paused; the second one is not a slot"
    engine.advance(days=1)
    assert list(Execution.objects.values_list("slot_key", flat=True)) == ["2026-10-26T02:30"]


def test_down_across_the_spring_change_one_catch_up_run_then_every_night(engine):
    clock.set_now(datetime(2026, 3, 27, 12, tzinfo=UTC))
    scheduled(NIGHTLY_BERLIN)
    engine.advance(days=2, hours=1)  # down from Friday noon to Sunday 13:00 UTC
    assert list(Execution.objects.values_list("slot_key", flat=True)) == ["2026-03-29T02:30"]
    for _ in range(48):
        engine.advance(minutes=30)
    assert Execution.objects.order_by("-started_at").first().trigger["slot"] == "2026-03-30T00:30:00+00:00"
    assert Execution.objects.count() == 2
