"""The in-process benchmark's measuring code (not its timings)."""
from __future__ import annotations

import pytest

from automations.benchmarks import in_process as benchmark


@pytest.mark.django_db(transaction=True)  # the benchmark runs in autocommit, as the command does
def test_benchmark_measurements_run_and_check_their_own_results():
    emitted, inserted = benchmark.measure_ingest(5)
    steps, tasks = benchmark.measure_execution(2)
    small, large = benchmark.measure_sweep(60, 120)
    assert min(emitted, inserted, steps, tasks, small, large) > 0
