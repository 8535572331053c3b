"""manage.py automations_tick and the tick schedule migrate installs."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django_q.models import Schedule

from automations import clock
from automations.engine.tick_schedule import TICK_FUNC, TICK_NAME, ensure_tick_schedule
from tests.conftest import sample

pytestmark = pytest.mark.django_db


def test_tick_command_wakes_due_executions(dunning, engine, capsys, django_capture_on_commit_callbacks):
    engine.emit("payment.failed", sample("payment.failed"))
    clock.advance(timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("automations_tick")
    assert "scheduled 0, due 1, recovered 0" in capsys.readouterr().out
    assert len(mail.outbox) == 2


def test_migrate_installs_one_recurring_tick_schedule():
    schedule = Schedule.objects.get(name=TICK_NAME)
    assert schedule.func == TICK_FUNC and schedule.schedule_type == Schedule.MINUTES and schedule.repeats == -1
    ensure_tick_schedule()
    assert Schedule.objects.filter(name=TICK_NAME).count() == 1
