"""What one ``emit()`` costs the database, pinned so it cannot grow unnoticed (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from django.db import connection, transaction
from django_q.conf import Conf

from billing_events import emit
from tests.conftest import sample
from tests.fixtures.statements import counting

pytestmark = pytest.mark.django_db(transaction=True)  # outside the test's transaction: real commits


@pytest.fixture(autouse=True)
def queued_not_run(monkeypatch):
    """The dispatch is queued, as on a real cluster, instead of running inline (the tests' ``sync``
    mode): what running it costs is the engine's, not emit()'s. With the ORM broker it is queued in
    emit()'s own statement or transaction."""
    monkeypatch.setattr(Conf, "SYNC", False)


def postgresql() -> bool:
    return connection.vendor == "postgresql"


EVERY_ENTITY = {**sample("payment.failed"), "subscription": sample("subscription.activated")["subscription"]}


@pytest.mark.parametrize(("data", "sqlite_statements"), [
    (sample("payment.failed"), 6),  # customer, invoice, payment: the benchmark's event
    (EVERY_ENTITY, 7),  # customer, subscription, invoice, payment: the most an event mirrors
], ids=["payment.failed", "every-entity"])
def test_emit_stores_mirrors_and_queues_in_one_commit(data, sqlite_statements):
    emit("payment.failed", data, id="evt_warm_up")  # first-use work (connection set-up) is not emit's cost

    with counting() as cost:
        event = emit("payment.failed", data, id="evt_counted")

    assert event.created
    assert cost.commits == 1, f"{cost}"
    if postgresql():  # the event, its entities and its dispatch: one prepared statement, as a bare insert
        assert [sql.split()[0] for sql in cost.statements] == ["EXECUTE"], f"{cost}"
    else:  # BEGIN, the event, one upsert per entity, COMMIT (the queued dispatch is django-q2's)
        assert len(cost.statements) == sqlite_statements, f"{cost}"


def test_in_the_callers_transaction_emit_commits_nothing_itself():
    emit("payment.failed", sample("payment.failed"), id="evt_warm_up")

    with counting() as cost, transaction.atomic():
        emit("payment.failed", sample("payment.failed"), id="evt_counted")

    words = [sql.split()[0] for sql in cost.statements]
    if postgresql():  # a savepoint, so a failing emit leaves the caller's transaction usable
        assert words == ["BEGIN", "SAVEPOINT", "EXECUTE", "RELEASE", "COMMIT"], f"{cost}"
    else:
        assert words == ["BEGIN", "SAVEPOINT", "INSERT", "INSERT", "INSERT", "INSERT", "RELEASE", "COMMIT"], f"{cost}"
    assert cost.commits == 1, "the caller's own"


def test_a_redelivery_writes_nothing_and_reads_the_stored_event_once():
    emit("payment.failed", sample("payment.failed"), id="evt_again")

    with counting() as cost:
        event = emit("payment.failed", sample("payment.failed"), id="evt_again")

    assert not event.created
    expected = ["EXECUTE", "SELECT"] if postgresql() else ["BEGIN", "INSERT", "COMMIT", "SELECT"]
    assert [sql.split()[0] for sql in cost.statements] == expected, f"{cost}"


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="prepared statements are PostgreSQL's")
def test_the_statement_is_prepared_once_per_session_and_again_after_a_reconnect():
    connection.close()  # a new session
    with counting() as first:
        emit("payment.failed", sample("payment.failed"), id="evt_first")
    connection.close()
    with pytest.raises(RuntimeError), transaction.atomic():  # prepared in a transaction rolled back
        emit("payment.failed", sample("payment.failed"), id="evt_rolled_back")
        raise RuntimeError
    with counting() as after:
        emit("payment.failed", sample("payment.failed"), id="evt_after")

    assert [sql.split()[0] for sql in first.statements] == ["PREPARE", "EXECUTE"], f"{first}"
    assert [sql.split()[0] for sql in after.statements] == ["EXECUTE"], "a prepared statement outlives a rollback"


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="prepared statements are PostgreSQL's")
def test_behind_a_transaction_pooler_nothing_is_prepared(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)

    with counting() as cost:
        emit("payment.failed", sample("payment.failed"), id="evt_pooled")

    assert [sql.split()[0] for sql in cost.statements] == ["WITH"], f"{cost}"
    assert cost.commits == 1
