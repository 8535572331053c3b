"""What one ``emit()`` costs the database, pinned so it cannot grow unnoticed (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from django_q.conf import Conf

from billing_events import emit
from tests.conftest import sample
from tests.fixtures.statements import counting

pytestmark = pytest.mark.django_db(transaction=True)  # outside the test's transaction: real commits


@pytest.fixture(autouse=True)
def queued_not_run(monkeypatch):
    """The dispatch queued on commit stays queued, as on a real cluster, instead of running inline
    (the tests' ``sync`` mode): what it costs is the engine's, not emit()'s."""
    monkeypatch.setattr(Conf, "SYNC", False)

# BEGIN, the event, one upsert per entity it carries, COMMIT. The ceiling is 8 statements
# and one commit; these are the figures reached, so a change that adds a statement fails here.
FAILED_PAYMENT_STATEMENTS = 6  # customer, invoice, payment: the benchmark's event
EVERY_ENTITY_STATEMENTS = 7  # customer, subscription, invoice, payment: the most an event mirrors


@pytest.mark.parametrize(("data", "ceiling"), [
    (sample("payment.failed"), FAILED_PAYMENT_STATEMENTS),
    ({**sample("payment.failed"), "subscription": sample("subscription.activated")["subscription"]},
     EVERY_ENTITY_STATEMENTS),
], ids=["payment.failed", "every-entity"])
def test_emit_stores_and_mirrors_in_one_commit(data, ceiling):
    emit("payment.failed", data, id="evt_warm_up")  # first-use work (connection set-up) is not emit's cost

    with counting() as cost:
        event = emit("payment.failed", data, id="evt_counted")

    assert event.created
    assert cost.commits == 1, f"{cost}"
    assert len(cost.statements) <= ceiling, f"emit() grew beyond {ceiling} statements: {cost}"


def test_a_redelivery_writes_nothing_and_reads_the_stored_event_once():
    emit("payment.failed", sample("payment.failed"), id="evt_again")

    with counting() as cost:
        event = emit("payment.failed", sample("payment.failed"), id="evt_again")

    assert not event.created
    assert [sql.split()[0] for sql in cost.statements] == ["BEGIN", "INSERT", "COMMIT", "SELECT"], f"{cost}"
