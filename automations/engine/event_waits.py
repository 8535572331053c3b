"""wait_for: a run waits for an event with its correlation value, or until a timeout.

The wait is a wake-up like a delay's (the execution is ``waiting`` with ``wake_at`` at the
timeout; no worker is held) plus one :class:`~automations.models.EventWaiter` row per awaited event
type, found by (event type, correlation value) through an index when an event is dispatched.

Two paths can see the event, and one wait is ended once:

- dispatch: an event looks up the waiters of its type and correlation value;
- the wait itself: once the waiter rows are committed it looks for a matching event stored since
  the run's reference moment (its start, or the event that ended its previous wait), so an event
  that came while the run was busy with the step before (when there was no waiter to find yet) is
  not lost.

Both end the wait through :func:`deliver`: it marks the wait's rows with the event only while no
event has marked them yet, and sets the wake-up only while the execution still waits on the same
wake-up token (in one transaction), so a second event, a second path or a timeout already under
way changes nothing.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from automations import clock
from automations.correlation import correlation_value
from automations.engine.queueing import RESUME_EXECUTION, enqueue
from automations.models import EventWaiter, Execution, WaitRule
from automations.status import ExecutionStatus
from billing_events.models import Event

logger = logging.getLogger("automations")


def _reference(execution: Execution, cursor: list[dict[str, Any]]) -> tuple[datetime, list[str]]:
    """From when events count for the run's next wait, and which do not: the run's start (less
    its trigger event), or the event that ended its previous wait (and that one)."""
    previous = cursor[0].get("waited") or {}
    since = datetime.fromisoformat(previous["since"]) if previous.get("since") else execution.started_at
    return since, [pk for pk in (previous.get("event"), execution.event_id) if pk]


def register(execution: Execution, token: int, waits_for: dict[str, Any], correlation_key: str,
             cursor: list[dict[str, Any]]) -> None:
    """Store the waiter rows of a wait that has just begun (inside its transaction) and, once they
    are committed, look for an event that came before they could be found."""
    value = execution.correlation_value
    if not value or not correlation_key:
        return  # nothing can match: the wait can only time out
    since, excluded = _reference(execution, cursor)
    events = waits_for["events"]
    EventWaiter.objects.bulk_create(
        EventWaiter(execution_id=execution.pk, wait_token=token, step_key=waits_for["step"], event_type=event_type,
                    correlation_key=correlation_key, correlation_value=value, since=since)
        for event_type in events)
    transaction.on_commit(lambda: catch_up(execution.pk, token, events, correlation_key, value, since, excluded))


def _matching_events(events: list[str], correlation_key: str, value: str, since: datetime,
                     excluded: list[str]):
    path = correlation_key.split(".")
    if path[:2] == ["event", "data"]:
        path = path[2:]
    lookup = "data__" + "__".join(path)
    match = Q(**{lookup: value})
    if value.lstrip("-").isdigit():  # a numeric id is a JSON number in the payload
        match |= Q(**{lookup: int(value)})
    return (Event.objects.filter(match, type__in=events, received_at__gte=since).exclude(pk__in=excluded)
            .order_by("received_at", "pk"))


def catch_up(execution_id: int, token: int, events: list[str], correlation_key: str, value: str,
             since: datetime, excluded: list[str]) -> bool:
    """End the wait with the first matching event already stored, if there is one."""
    for event in _matching_events(events, correlation_key, value, since, excluded)[:5]:
        # the JSON lookup compares loosely on some databases: the correlation value decides
        if correlation_value(correlation_key, event.data) == value:
            return deliver(execution_id, token, event)
    return False


def wake_waiters(event: Event) -> int:
    """End the waits ``event`` is what they wait for. Returns how many were woken.

    The correlation keys to read from the event come from the activated versions' wait rules
    (found by event type), the waiters from the (event type, correlation value) index: the cost
    does not grow with the number of waiting executions."""
    keys = set(WaitRule.objects.filter(event_type=event.type).values_list("correlation_key", flat=True))
    pairs = {(key, correlation_value(key, event.data)) for key in keys}
    match = Q()
    for key, value in pairs:
        if value:
            match |= Q(correlation_key=key, correlation_value=value)
    if not match:
        return 0
    waiters = (EventWaiter.objects.filter(match, event_type=event.type, event_id__isnull=True,
                                          since__lte=event.received_at, execution__status=ExecutionStatus.WAITING)
               .values_list("execution_id", "wait_token"))
    return sum(deliver(execution_id, token, event) for execution_id, token in waiters)


def deliver(execution_id: int, token: int, event: Event) -> bool:
    """End the wait ``token`` of an execution with ``event``: at most once, and only while the
    execution still waits on that token. Its resume is queued on commit."""
    # The execution row first, then the waiter rows: the order a worker resuming the run takes
    # them in, so the two never wait for each other.
    with transaction.atomic():
        now = clock.now()
        woken = Execution.objects.filter(pk=execution_id, status=ExecutionStatus.WAITING,
                                         wait_token=token).update(wake_at=now)
        if not woken:
            return False  # the run moved on (timed out, canceled)
        marked = EventWaiter.objects.filter(execution_id=execution_id, wait_token=token,
                                            event_id__isnull=True).update(event_id=event.pk, matched_type=event.type)
        if not marked:
            transaction.set_rollback(True)  # another event ended this wait first: its wake-up stands
            return False
        enqueue(RESUME_EXECUTION, execution_id, token)
    logger.info("execution %s: wait ended by %s %s", execution_id, event.type, event.pk)
    return True


def result(execution: Execution, cursor: list[dict[str, Any]], now: datetime) -> dict[str, Any] | None:
    """How the wait ended, now that the run is back: the event that came (later waits of the run
    count events from it on), the timeout, or None when the run was woken before its time with
    nothing arrived (a requeue) and waits on. A wait that is over loses its rows."""
    matched = (EventWaiter.objects.filter(execution_id=execution.pk, wait_token=execution.wait_token,
                                          event_id__isnull=False)
               .values_list("matched_type", "event_id").first())
    if matched:
        output = {"event": matched[0], "event_id": matched[1]}
        received = Event.objects.filter(pk=matched[1]).values_list("received_at", flat=True).first()
        cursor[0]["waited"] = {"since": (received or now).isoformat(), "event": matched[1]}
    elif now >= datetime.fromisoformat(cursor[-1]["wait"]["until"]):
        output = {"timed_out": True}
    else:
        return None
    EventWaiter.objects.filter(execution_id=execution.pk).delete()
    return output


def rehearse(test_run: Any, waits_for: dict[str, Any]) -> datetime:
    """How the wait ends in test mode (``engine.simulation``), and when: with the first simulated
    event of its types up to its timeout, else at the timeout. As live, the wait sees every event
    of its types since the run began, or since the event that ended its previous wait (the run's
    own payment's included); one that ``exit_on`` lists ends the run instead (exits come first)."""
    now, until = clock.now(), waits_for["until"]
    arrived = next(((moment, index, kind) for moment, index, kind in test_run.events
                    if index not in test_run.consumed and moment >= test_run.wait_since
                    and kind in waits_for["events"] and kind not in test_run.exit_types
                    and moment <= max(until, now)), None)
    if arrived is None:
        test_run.waited[waits_for["step"]] = {"timed_out": True}
        return until
    moment, index, kind = arrived
    test_run.consumed.add(index)
    test_run.wait_since = moment
    test_run.waited[waits_for["step"]] = {"event": kind, "event_id": f"test_event_{index + 1}"}
    return max(moment, now)
