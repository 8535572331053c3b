"""Folds racing on PostgreSQL count each run and step once: one counts, the others skip (the fold
row's lock), and what none counted is found by the next."""
from __future__ import annotations

import time

import pytest
from django.db import connection  # noqa: F401 (read by skipif)
from django.db.models import Sum

from automations import clock, services
from automations.models import Execution, StepRun, Tally
from automations.outcomes import fold as fold_module
from tests.automations.engine.test_concurrency import in_parallel

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL's row locks"),
]
RUNS = 300


@pytest.fixture
def finished_runs():
    automation = services.create_automation({"name": "Race", "trigger": {"type": "manual"},
                                             "steps": [{"key": "note", "type": "action", "action": "create_task",
                                                        "config": {"title": "Go"}}]})
    services.activate(automation)
    version = automation.versions.get()
    now = clock.now()
    runs = Execution.objects.bulk_create([Execution(automation=automation, version=version, status="succeeded",
                                                    started_at=now, finished_at=now) for _ in range(RUNS)])
    StepRun.objects.bulk_create([StepRun(execution=run, step_key="note", step_type="action", action="create_task",
                                         status="succeeded", started_at=now, finished_at=now) for run in runs])
    return automation


def test_racing_folds_count_each_run_and_step_once(finished_runs, monkeypatch):
    original = fold_module._add

    def slow_add(counts):
        time.sleep(0.2)  # every racer is inside its fold before the first commits
        original(counts)

    monkeypatch.setattr(fold_module, "_add", slow_add)
    monkeypatch.setattr(fold_module, "BATCH", 100)
    in_parallel(lambda index: fold_module.fold(), workers=4)
    fold_module.fold()  # what a skipped racer left

    def total(kind: str) -> int:
        return Tally.objects.filter(automation=finished_runs, kind=kind).aggregate(n=Sum("count"))["n"]

    assert (total("started"), total("ended"), total("reached"), total("succeeded")) == (RUNS,) * 4
    assert not Execution.objects.filter(tallied__lt=2).exists() and not StepRun.objects.filter(tallied=False).exists()
