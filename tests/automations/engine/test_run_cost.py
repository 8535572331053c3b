"""What one run of the benchmark's 10-step automation costs the database, pinned so it cannot grow
unnoticed (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest

from automations import services
from automations.benchmarks.workload import STEPS_PER_RUN, TEN_STEPS, ten_steps_on
from automations.engine import step_transactions
from automations.engine.tasks import dispatch_event
from automations.models import Execution
from automations.status import ExecutionStatus
from billing_events import emit
from tests.conftest import sample
from tests.fixtures.statements import counting

pytestmark = pytest.mark.django_db(transaction=True)  # outside the test's transaction: real commits


@pytest.fixture(autouse=True)
def no_clock_in_the_count(monkeypatch):
    """Steps share a commit for at most SECONDS_PER_COMMIT: on a loaded machine a run may take
    longer and commit once more. The counts pinned here are those of the steps, not of the clock."""
    monkeypatch.setattr(step_transactions, "SECONDS_PER_COMMIT", 3600)

# The target is 60 statements and 12 commits; these are the figures reached, as a ceiling: a change
# that adds a statement or a commit to the step path fails here. The execution is created and
# claimed (two commits), then its ten steps commit together: steps that go straight on share one
# commit; the eight tasks are inserted one by one (each step's output names its task's id), their
# history rows and the ten step-log rows each in one statement when the steps commit.
RUN_STATEMENTS = 19
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


# An event that starts the 10-step automation, dispatched and run by one worker task: the event
# read, the exit, wait and trigger look-ups, the execution created and claimed, billing data read
# once, and the ten steps' one commit. The task holds the execution it created: nothing read back.
DISPATCH_STATEMENTS = 22
DISPATCH_COMMITS = 4


def test_an_event_dispatched_and_run_by_its_task_stays_within_its_statements_and_commits():
    data = sample("payment.failed")
    # stored (and dispatched, to no one) before the automation listens: the task measured is the
    # dispatch of an event the automation has not seen yet
    warm_up, event = (emit("payment.failed", data, id=f"evt_{name}") for name in ("warm_up", "measured"))
    automation = services.create_automation(ten_steps_on("payment.failed"))
    services.activate(automation)
    dispatch_event(warm_up.pk)  # first-use work (caches, connection set-up) is not the cost

    with counting() as cost:
        dispatch_event(event.pk)

    execution = Execution.objects.get(event=event)
    assert execution.status == ExecutionStatus.SUCCEEDED and execution.step_runs.count() == STEPS_PER_RUN
    assert cost.commits <= DISPATCH_COMMITS, f"dispatch grew beyond {DISPATCH_COMMITS} commits: {cost}"
    assert len(cost.statements) <= DISPATCH_STATEMENTS, f"dispatch grew beyond {DISPATCH_STATEMENTS} statements: {cost}"
