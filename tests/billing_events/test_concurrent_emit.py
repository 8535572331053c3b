"""Every event stored once under real concurrency: 8 processes on PostgreSQL, each with its own
connection, emitting about the same customers, none of them known to the mirror beforehand."""
from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from django.db import connection

from automations import services
from automations.models import Execution
from billing_events.models import Customer, Event, Invoice
from tests.conftest import sample
from tests.fixtures.processes import in_processes

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL and several processes"),
]

PROCESSES = 8
CUSTOMERS = 100
PER_PROCESS = 50  # half the customers each, in the same order: four processes race for each new one


def failed_payment(customer: int, payment: str) -> dict[str, Any]:
    """A payment.failed about customer number ``customer`` and its invoice."""
    cus, inv = f"cus_new_{customer}", f"inv_new_{customer}"
    return sample("payment.failed", customer={"id": cus}, invoice={"id": inv, "customer_id": cus},
                  payment={"id": payment, "invoice_id": inv, "customer_id": cus})


@pytest.fixture
def listener(transactional_db):
    """An active automation that starts one waiting run per payment.failed."""
    automation = services.create_automation({
        "name": "One run per event", "trigger": {"type": "event", "event": "payment.failed"},
        "steps": [{"key": "wait", "type": "delay", "duration": "1d"}]})
    services.activate(automation)
    return automation


def emit_batch(events: list[tuple[str, dict[str, Any]]]) -> list[bool]:
    """Child process: emit each ``(id, data)``; whether this process stored it."""
    from billing_events import emit

    return [emit("payment.failed", data, id=event_id).created for event_id, data in events]


def post_batch(payload: dict[str, Any]) -> list[int]:
    """Child process: POST each event to the API; the response statuses."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {payload['token']}", raise_request_exception=False)
    return [client.post("/api/events/", json.dumps({"id": event_id, "type": "payment.failed", "data": data}),
                        content_type="application/json").status_code
            for event_id, data in payload["events"]]


def distinct_events(prefix: str) -> list[list[tuple[str, dict[str, Any]]]]:
    """For each process, its own event ids about half of the customers."""
    return [[(f"{prefix}_{p}_{c}", failed_payment(c, f"pay_{prefix}_{p}_{c}"))
             for c in range((p % 2) * PER_PROCESS, (p % 2) * PER_PROCESS + PER_PROCESS)] for p in range(PROCESSES)]


def same_events(prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """One event id per customer, which every process sends."""
    return [(f"{prefix}_{c}", failed_payment(c, f"pay_{prefix}_{c}")) for c in range(CUSTOMERS)]


def assert_stored_once(ids: set[str]) -> None:
    assert set(Event.objects.values_list("pk", flat=True)) == ids
    started = Counter(Execution.objects.values_list("event_id", flat=True))
    assert set(started) == ids and set(started.values()) == {1}, "one execution per event"
    assert Customer.objects.filter(pk__startswith="cus_new_").count() == CUSTOMERS
    assert Invoice.objects.filter(pk__startswith="inv_new_").count() == CUSTOMERS


def test_distinct_events_about_the_same_new_customers_are_all_stored(listener):
    batches = distinct_events("evt")
    created = in_processes(f"{__name__}.emit_batch", batches)
    assert all(all(batch) for batch in created), "every emit stored its own event"
    assert_stored_once({event_id for batch in batches for event_id, _ in batch})


def test_the_same_ids_from_every_process_are_stored_once(listener):
    events = same_events("evt_same")
    created = in_processes(f"{__name__}.emit_batch", [events] * PROCESSES)
    assert [sum(column) for column in zip(*created)] == [1] * CUSTOMERS, "exactly one process stored each id"
    assert_stored_once({event_id for event_id, _ in events})


def test_concurrent_posts_to_the_api_are_never_a_500(listener, django_user_model):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=django_user_model.objects.create_superuser("ops", "ops@example.com", "pw"))
    # each process: its own ids about every other customer, then the ids every process sends
    distinct = [batch[::2] for batch in distinct_events("evt_api")]
    same = same_events("evt_api_same")[1::2]
    payloads = [{"token": token.key, "events": batch + same} for batch in distinct]
    statuses = in_processes(f"{__name__}.post_batch", payloads)
    assert Counter(code for batch in statuses for code in batch[:len(distinct[0])]) == {201: PROCESSES * 25}
    assert [sorted(column) for column in zip(*(batch[len(distinct[0]):] for batch in statuses))] == (
        [[200] * (PROCESSES - 1) + [201]] * len(same))
    assert_stored_once({event_id for batch in distinct for event_id, _ in batch} | {event_id for event_id, _ in same})
