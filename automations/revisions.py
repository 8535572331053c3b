"""Draft revisions: every save of a version is a django-simple-history record holding the whole
definition, listed with its author and a diff against the save before, and restorable into the draft.

Activated versions stay immutable snapshots (``AutomationVersion.snapshot``); revisions are the
finer grain in between, so an operator can go back to what the draft looked like an hour ago.
"""
from __future__ import annotations

from typing import Any

from automations.definition.diff import diff_definitions
from automations.models import Automation, AutomationVersion
from automations.status import VersionState
from billing_events.errors import InvalidInput

HistoricalVersion = AutomationVersion.history.model


def _records(automation: Automation):
    return (HistoricalVersion.objects.filter(automation_id=automation.pk, snapshot__isnull=False)
            .exclude(history_type="-").select_related("history_user").order_by("history_date", "history_id"))


def list_revisions(automation: Automation) -> list[dict[str, Any]]:
    """Newest first: ``{"id", "version", "state", "event", "author", "at", "diff"}`` for each save
    (``event`` is ``saved`` for a draft save, ``activated`` for the save that activated it)."""
    revisions, previous = [], None
    for record in _records(automation):
        if previous is not None and record.snapshot == previous and record.state != VersionState.ACTIVE:
            continue  # a save that changed nothing in the definition (the name of the automation, say)
        revisions.append({
            "id": record.history_id,
            "version": record.number,
            "state": record.state,
            "event": "activated" if record.state == VersionState.ACTIVE else "saved",
            "author": record.history_user.get_username() if record.history_user else None,
            "at": record.history_date,
            "diff": diff_definitions(previous, record.snapshot),
        })
        previous = record.snapshot
    return revisions[::-1]


def revision_definition(automation: Automation, revision_id: int) -> dict[str, Any]:
    """The definition saved in revision ``revision_id`` of ``automation``."""
    record = _records(automation).filter(history_id=revision_id).first()
    if record is None:
        raise InvalidInput(f"automation {automation.pk} has no revision {revision_id}", field="revision")
    return record.snapshot
