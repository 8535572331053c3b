"""What one run of the benchmark's 10-step automation costs the database, pinned so it cannot grow
unnoticed (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest

from automations import services
from automations.benchmarks.workload import STEPS_PER_RUN, TEN_STEPS
from automations.models import Execution
from automations.status import ExecutionStatus
from tests.conftest import sample
from tests.fixtures.statements import counting

pytestmark = pytest.mark.django_db(transaction=True)  # outside the test's transaction: real commits

# The target is 60 statements and 12 commits; these are the figures reached, as a ceiling: a change
# that adds a statement or a commit to the step path fails here. The execution is created and
# claimed (two commits), then its ten steps commit together: steps that go straight on share one
# commit, and a local action after another runs in a savepoint (the 14 SAVEPOINT/RELEASE lines).
RUN_STATEMENTS = 40
RUN_COMMITS = 3


def test_a_ten_step_run_stays_within_its_statements_and_commits():
    automation = services.create_automation(TEN_STEPS)
    services.activate(automation)
    data = sample("payment.failed")
    services.run_manual(automation, data)  # first-use work (caches, connection set-up) is not the run's cost

    with counting() as cost:
        execution = services.run_manual(automation, data)

    execution = Execution.objects.get(pk=execution.pk)
    assert execution.status == ExecutionStatus.SUCCEEDED and execution.step_runs.count() == STEPS_PER_RUN
    assert cost.commits <= RUN_COMMITS, f"the run grew beyond {RUN_COMMITS} commits: {cost}"
    assert len(cost.statements) <= RUN_STATEMENTS, f"the run grew beyond {RUN_STATEMENTS} statements: {cost}"
