"""The outcomes benchmark's data is what the fold would have counted: its figures read back the runs
it wrote (PostgreSQL: it writes them with generate_series)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from automations import clock
from automations.benchmarks.outcomes import STEPS_PER_RUN, run_outcomes_benchmark
from automations.models import Automation, Execution
from automations.outcomes.figures import figures

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'",
                                reason="the benchmark writes its runs with PostgreSQL's generate_series")


def test_the_benchmark_times_figures_that_are_the_runs_it_wrote(transactional_db):
    result = run_outcomes_benchmark(200 * STEPS_PER_RUN)

    assert result.runs == 200 and result.stats_30_ms > 0 and result.count_ms > 0
    automation = Automation.objects.get()
    today = clock.now().date()
    shown = figures(automation, start=today - timedelta(days=365), end=today)
    assert shown["runs"]["started"] == Execution.objects.count() == 200
    assert shown["recovered"]["invoices"] == Execution.objects.filter(status="canceled").count() == 38
    waiting = Execution.objects.filter(status="waiting")
    assert sum(step["waiting"] for step in shown["steps"].values()) == waiting.count() == 2
    assert connection.vendor == "postgresql"
