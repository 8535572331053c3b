"""The cluster benchmark's measuring code (not its timings): a real cluster forked from the test
process runs the workload and the baseline; dispatch is timed with unrelated automations present."""
from __future__ import annotations

import pytest
from django.db import connection

from automations.benchmarks import cluster
from automations.models import Automation, Execution
from automations.status import ExecutionStatus

pytestmark = pytest.mark.django_db(transaction=True)  # the cluster's processes must see committed rows


def test_percentiles_pick_observed_values():
    values = [float(n) for n in range(1, 101)]
    assert cluster._percentile(values, 0.5) == 50.0
    assert cluster._percentile(values, 0.99) == 99.0
    assert cluster._percentile([7.0], 0.99) == 7.0


def test_unrelated_automations_are_active_and_do_not_start_on_the_workload_event():
    cluster.add_unrelated_automations(30)
    unrelated = Automation.objects.exclude(trigger_event=cluster.WORKLOAD_EVENT)
    assert unrelated.filter(active_version__state="active").count() == 30
    bare, crowded = cluster.measure_dispatch(3, 0)
    assert bare > 0 and crowded > 0
    assert not Execution.objects.exists(), "nothing listens to the workload event here"


@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="forked workers need a database they can reach (the SQLite test database is in memory)")
def test_a_forked_cluster_runs_the_workload_to_the_end():
    with cluster.running_cluster(workers=2):
        assert cluster.measure_carrier(5) > 0
        steps, rate, cpu = cluster.measure_steps(3)
    assert steps == 30 and rate > 0
    assert cpu["cluster"] > 0 and cpu["postgres"] > 0, "the workers and their database backends did the work"
    assert Execution.objects.filter(status=ExecutionStatus.SUCCEEDED).count() == 3
    assert connection.vendor == "postgresql"
