"""The sweep: dispatches whose task was lost are taken by the drains, once each, however many
drains and ticks there are."""
from __future__ import annotations

from collections import Counter

from automations.conf import app_settings
from automations.models import Execution
from billing_events import emit
from tests.conftest import sample


def test_lost_dispatches_are_taken_by_the_drains_once_each(dunning, engine, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the dispatch tasks are lost
        for n in range(30):
            emit("payment.failed", sample("payment.failed", invoice={"id": f"inv_{n}"}), id=f"evt_{n}")
    dispatched: Counter[str] = Counter()
    from automations.engine import tasks

    real = tasks.dispatch
    monkeypatch.setattr(tasks, "dispatch", lambda event_id, **kw: (dispatched.update([event_id]), real(event_id, **kw))[1])

    period = app_settings.REDISPATCH_SECONDS
    engine.advance(seconds=period - 5)
    assert not dispatched, "their own tasks may still be on the way"
    engine.advance(seconds=10)
    assert dispatched == {f"evt_{n}": 1 for n in range(30)}
    for _ in range(10):
        engine.advance(seconds=period)
    assert set(dispatched.values()) == {1}, "a dispatched event is not taken again"
    assert Execution.objects.count() == 30


def test_a_broker_back_from_an_outage_has_every_undone_dispatch_taken_at_once(dunning, engine,
                                                                             django_capture_on_commit_callbacks):
    from automations import clock
    from automations.engine.tasks import run_due

    with django_capture_on_commit_callbacks(execute=False):  # queued in a Redis that came back empty
        emit("payment.failed", sample("payment.failed"), id="evt_before")
    engine.advance(seconds=1)
    assert not Execution.objects.exists(), "younger than REDISPATCH_SECONDS: its task may still come"
    back = clock.now()
    engine.advance(seconds=1)
    with django_capture_on_commit_callbacks(execute=False):
        emit("payment.failed", sample("payment.failed", invoice={"id": "inv_after"}), id="evt_after")
    run_due(lost_before=back.isoformat())
    assert list(Execution.objects.values_list("event_id", flat=True)) == ["evt_before"], (
        "what came before the return is presumed lost; what came after has its own task")
