"""The sweep: a backlog of undispatched events is queued again once per re-dispatch period, not per tick."""
from __future__ import annotations

from collections import Counter

from billing_events import emit
from automations.conf import app_settings
from tests.conftest import sample


def test_a_backlog_of_undispatched_events_is_queued_once_each(dunning, engine, monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the dispatch tasks are lost
        for n in range(30):
            emit("payment.failed", sample("payment.failed", invoice={"id": f"inv_{n}"}), id=f"evt_{n}")
    queued: Counter[str] = Counter()
    # the queue is long: the workers have not reached the re-queued dispatches yet
    monkeypatch.setattr("automations.engine.sweep.queue_now", lambda func, event_id, **kw: queued.update([event_id]))

    period = app_settings.REDISPATCH_SECONDS
    engine.advance(seconds=period + 1)
    assert queued == {f"evt_{n}": 1 for n in range(30)}
    for _ in range(period // 30 - 1):  # a tick every 30 seconds until the period is over
        engine.advance(seconds=30)
    assert set(queued.values()) == {1}, "not queued again on every tick"
    engine.advance(seconds=30)
    assert set(queued.values()) == {2}, "queued again once the period is over"
