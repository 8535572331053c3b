"""In one process: each figure against a bare baseline of the same run.

- ingest: ``emit()`` (validate, store, mirror, queue the dispatch) vs a bare ORM insert of an Event;
- execute: steps of a 10-step automation run through the worker path vs a no-op django-q2 task
  round trip (both with django-q2's in-process ``sync`` path, so neither waits on polling);
- sweep: one wake-up sweep with 1k and with 100k waiting executions (the cost must stay flat).
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django_q.conf import Conf
from django_q.tasks import async_task

from automations import clock, services
from automations.benchmarks.workload import NOOP, STEPS_PER_RUN, TEN_STEPS
from automations.engine import sweep as sweep_module  # its queue_now is stubbed in _sweep_ms
from automations.engine.sweep import hand_out_due
from automations.models import Execution
from automations.status import ExecutionStatus
from automations.steps.cursor import initial_cursor
from billing_events import emit
from billing_events.catalogue import get_event_type
from billing_events.models import Event


def _rate(count: int, func: Callable[[int], None]) -> float:
    start = time.perf_counter()
    for index in range(count):
        func(index)
    return count / (time.perf_counter() - start)


@dataclass
class Figures:
    emit_rate: float
    insert_rate: float
    step_rate: float
    task_rate: float
    sweep_small_ms: float
    sweep_large_ms: float
    small: int
    large: int


def measure_ingest(events: int) -> tuple[float, float]:
    sample = get_event_type("payment.failed").sample_data()
    occurred = clock.now()
    run = uuid.uuid4().hex[:8]
    insert = _rate(events, lambda i: Event.objects.create(id=f"bare_{run}_{i}", type="payment.failed",
                                                          data=sample, occurred_at=occurred))
    emitted = _rate(events, lambda i: emit("payment.failed", sample, id=f"bench_{run}_{i}"))
    return emitted, insert


def measure_execution(runs: int) -> tuple[float, float]:
    automation = services.create_automation(TEN_STEPS)
    services.activate(automation)
    data = get_event_type("payment.failed").sample_data()
    sync = Conf.SYNC
    Conf.SYNC = True
    try:
        tasks = _rate(runs * STEPS_PER_RUN, lambda i: async_task(NOOP))
        start = time.perf_counter()
        for _ in range(runs):
            execution = services.run_manual(automation, data)
        elapsed = time.perf_counter() - start
    finally:
        Conf.SYNC = sync
    execution.refresh_from_db()
    if execution.status != ExecutionStatus.SUCCEEDED or execution.step_runs.count() != STEPS_PER_RUN:
        raise RuntimeError(f"benchmark run did not finish as expected: {execution.status} {execution.error}")
    return runs * STEPS_PER_RUN / elapsed, tasks


def _fill_waiting(automation, version, total: int) -> None:
    """Waiting executions, all due in 30 days (none due now), added up to ``total``."""
    later = clock.now() + timedelta(days=30)
    missing = total - Execution.objects.filter(status=ExecutionStatus.WAITING).count()
    rows = (Execution(automation=automation, version=version, status=ExecutionStatus.WAITING, wake_at=later,
                      wait_token=1, cursor=initial_cursor(), started_at=clock.now()) for _ in range(missing))
    batch: list[Execution] = []
    for row in rows:
        batch.append(row)
        if len(batch) == 5000:
            Execution.objects.bulk_create(batch)
            batch = []
    Execution.objects.bulk_create(batch)


def _sweep_ms(repeats: int = 20) -> float:
    """Median time of a sweep that finds 50 due wake-ups (queueing stubbed out: the sweep alone)."""
    timings = []
    real_queue = sweep_module.queue_now
    sweep_module.queue_now = lambda *args, **kwargs: None
    try:
        for _ in range(repeats):
            due = list(Execution.objects.filter(status=ExecutionStatus.WAITING).values_list("pk", flat=True)[:50])
            Execution.objects.filter(pk__in=due).update(wake_at=clock.now() - timedelta(seconds=1))
            start = time.perf_counter()
            due_now = hand_out_due(clock.now())
            timings.append((time.perf_counter() - start) * 1000)
            if due_now != 50:
                raise RuntimeError(f"sweep found {due_now} due, expected 50")
            Execution.objects.filter(pk__in=due).update(wake_at=clock.now() + timedelta(days=30))
    finally:
        sweep_module.queue_now = real_queue
    return sorted(timings)[len(timings) // 2]


def measure_sweep(small: int, large: int) -> tuple[float, float]:
    automation = services.create_automation({**TEN_STEPS, "name": "Benchmark: waiting"})
    version = services.activate(automation)
    _fill_waiting(automation, version, small)
    _analyze()
    small_ms = _sweep_ms()
    _fill_waiting(automation, version, large)
    _analyze()
    large_ms = _sweep_ms()
    return small_ms, large_ms


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def run_benchmark(events: int, executions: int, small: int, large: int) -> Figures:
    emit_rate, insert_rate = measure_ingest(events)
    step_rate, task_rate = measure_execution(executions)
    small_ms, large_ms = measure_sweep(small, large)
    return Figures(emit_rate, insert_rate, step_rate, task_rate, small_ms, large_ms, small, large)
