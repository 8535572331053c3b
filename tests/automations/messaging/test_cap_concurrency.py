"""A cap holds across concurrent workers on PostgreSQL: automations messaging one customer at the
same instant, in separate processes, never all pass a cap of 1."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection  # noqa: F401 (read by skipif)

from automations import clock, services
from automations.steps.cursor import initial_cursor
from automations.messaging import ledger
from automations.messaging.caps import Cap
from automations.models import Execution, SentMessage
from tests.automations.engine.test_concurrency import in_parallel
from tests.fixtures.processes import in_processes

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL's row locks"),
]
PROCESSES = 4


def resume(wake_up: tuple[int, int]) -> str:
    """In a worker process: resume one execution as the cluster would; its status after."""
    from automations.engine.tasks import resume_execution

    execution_id, token = wake_up
    resume_execution(execution_id, token)
    return Execution.objects.get(pk=execution_id).status


def test_automations_messaging_one_customer_at_once_send_one_message():
    wake_ups = []
    for number in range(PROCESSES):
        automation = services.create_automation({
            "name": f"Campaign {number}", "trigger": {"type": "manual"},
            "frequency_caps": [{"channels": ["email"], "max": 1, "period": "1d"}],
            "steps": [{"key": "mail", "type": "action", "action": "send_email",
                       "config": {"to": "{{ customer.email }}", "subject": "s", "body": "b"}}]})
        services.activate(automation)
        automation.refresh_from_db()
        execution = Execution.objects.create(
            automation=automation, version=automation.active_version, status="waiting",
            wake_at=clock.now() - timedelta(minutes=1), wait_token=1, cursor=initial_cursor(),
            data={"customer": {"id": "cus_race", "email": "race@example.com"}}, started_at=clock.now())
        wake_ups.append((execution.pk, 1))

    statuses = in_processes(f"{__name__}.resume", wake_ups)
    assert sorted(statuses) == ["succeeded"] + ["waiting"] * (PROCESSES - 1)
    assert SentMessage.objects.filter(customer_id="cus_race").count() == 1
    deferred = Execution.objects.filter(status="waiting")
    assert all(run.output["deferred"] == "frequency_cap" for execution in deferred
               for run in execution.step_runs.all())


def test_reservations_under_the_customer_lock_never_exceed_the_cap():
    caps = [Cap.from_config({"max": 2, "period": "1d"})]
    for round_ in range(5):
        def reserve(index: int, round_=round_):
            return ledger.reserve(customer_id=f"cus_{round_}", channel="sms", key=f"{round_}:{index}", caps=caps,
                                  now=clock.now(), automation_id=None)

        results = in_parallel(reserve, workers=6)
        assert sum(result is None for result in results) == 2, f"round {round_}: exactly the cap passes"
        assert SentMessage.objects.filter(customer_id=f"cus_{round_}").count() == 2
