"""A loop's items are kept once, when it is entered: a step inside the loop sends the same
statements, with the same bytes of parameters, over a list of 10 items and one of 10,000
(SQLite and PostgreSQL)."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django_q.conf import Conf

from automations import services
from automations.engine import step_transactions
from automations.engine.tasks import resume_execution
from automations.models import Execution, LoopItems
from tests.conftest import sample
from tests.fixtures.statements import QUEUE_TABLES, counting

pytestmark = pytest.mark.django_db(transaction=True)  # outside the test's transaction: real commits

SAVEPOINT_NAME = re.compile(r'"s\d+_x\d+"')  # Django numbers its savepoints per thread
TOKEN = re.compile(r"[0-9a-f]{32}")  # a lease token
NUMBER = re.compile(r"\d+")  # an id, a count, a time: its digits say nothing about the list

#: Each item runs a task and a branch; the run stops in the item at this position.
STOP_AT = 2
EACH_LINE = {"name": "Each line", "trigger": {"type": "manual"}, "steps": [
    {"key": "lines", "type": "loop", "over": "invoice.line_items", "as": "line", "max_items": 10_000, "steps": [
        {"key": "note", "type": "action", "action": "create_task", "config": {"title": "Line {{ line.n }}"}},
        {"key": "enough", "type": "branch",
         "if": {"all": [{"field": "line.n", "operator": "equals", "value": STOP_AT}]},
         "then": [{"key": "halt", "type": "stop"}]}]}]}


@pytest.fixture(autouse=True)
def queued_not_run(monkeypatch):
    """The run is started queued, as on a real cluster; the test runs its task itself."""
    monkeypatch.setattr(Conf, "SYNC", False)


@pytest.fixture(autouse=True)
def no_clock_in_the_count(monkeypatch):
    """Steps share a commit for at most SECONDS_PER_COMMIT: the longer list must not commit once
    more because the machine was busy. What is compared is the steps' cost, not the clock's."""
    monkeypatch.setattr(step_transactions, "SECONDS_PER_COMMIT", 3600)


def _bytes(value: Any) -> int:
    """The bytes of one statement's parameters: text and JSON by their length, with each number in
    them counted as one byte (the execution's id in a key, an item count of 10,000: not the list)
    and a lease token as one; numbers, dates and flags of their own take a fixed width."""
    if isinstance(value, (list, tuple)):
        return sum(_bytes(part) for part in value)
    wrapped = getattr(value, "obj", getattr(value, "adapted", None))  # psycopg 3's Jsonb, psycopg2's Json
    if wrapped is not None:
        return _json_bytes(wrapped)
    if isinstance(value, str) and value.startswith(("{", "[")):  # SQLite's JSON, as text
        try:
            return _json_bytes(json.loads(value))
        except ValueError:
            pass
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, str):
        return _text_bytes(value)
    return 8


def _text_bytes(text: str) -> int:
    return len(NUMBER.sub("0", TOKEN.sub("t", text)).encode())


def _json_bytes(value: Any) -> int:
    if isinstance(value, dict):
        return 2 + sum(len(str(key)) + 3 + _json_bytes(part) for key, part in value.items())
    if isinstance(value, list):
        return 2 + sum(1 + _json_bytes(part) for part in value)
    if isinstance(value, str):
        return _text_bytes(value) + 2
    return 1


@contextmanager
def parameters() -> Iterator[list[tuple[str, int]]]:
    """Each statement the block sends (the apps', not django-q2's) with the bytes of its parameters."""
    sent: list[tuple[str, int]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if QUEUE_TABLES not in sql:
            sent.append((SAVEPOINT_NAME.sub('"savepoint"', sql), _bytes(params)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield sent


def run_over(automation, lines: int):
    """Run the automation over an invoice of ``lines`` line items; what its worker's pass cost."""
    data = sample("invoice.issued")
    data["invoice"]["line_items"] = [{"n": n} for n in range(lines)]
    execution = services.run_manual(automation, data)
    with counting() as cost, parameters() as sent:
        resume_execution(execution.pk, execution.wait_token)
    execution = Execution.objects.get(pk=execution.pk)
    assert execution.status == "succeeded", execution.error
    assert execution.step_runs.filter(step_key="note").count() == STOP_AT + 1
    return execution, cost, sent


def test_a_step_in_a_loop_costs_the_same_over_10_items_and_10000():
    automation = services.create_automation(EACH_LINE)
    services.activate(automation)
    run_over(automation, 10)  # first-use work (caches, connection set-up) is not the run's cost

    short, short_cost, short_sent = run_over(automation, 10)
    long, long_cost, long_sent = run_over(automation, 10_000)

    assert len(long_cost.statements) == len(short_cost.statements), (
        f"statements grew with the list:\n{short_cost}\n---\n{long_cost}")
    assert long_cost.commits == short_cost.commits
    assert [sql for sql, _ in long_sent] == [sql for sql, _ in short_sent]
    grown = [(sql, short_bytes, long_bytes) for (sql, short_bytes), (_, long_bytes) in zip(short_sent, long_sent)
             if long_bytes != short_bytes]
    # the items themselves, written once when the loop is entered; nothing else
    assert len(grown) == 1 and grown[0][0].startswith("INSERT") and "loopitems" in grown[0][0], grown
    assert LoopItems.objects.get(execution=long).items[-1] == {"n": 9999}
    assert all(frame.get("items") is None for frame in long.cursor)

