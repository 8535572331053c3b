"""Draft revisions: every save of a version is a django-simple-history record holding the whole
definition, listed with its author and a diff against the save before, and restorable into the draft.

The latest record's id is the draft's revision: what a reader saw (the API's ``ETag``) and what a
write names to be refused when someone saved or activated since (optimistic concurrency).

Activated versions stay immutable snapshots (``AutomationVersion.snapshot``); revisions are the
finer grain in between, so an operator can go back to what the draft looked like an hour ago.
"""
from __future__ import annotations

from datetime import timezone as dt_timezone
from typing import Any

from automations.definition.diff import diff_definitions
from automations.models import Automation, AutomationVersion
from automations.status import VersionState
from automations.errors import StaleRevision
from automations.secrets import mask_definition
from billing_events.errors import InvalidInput

HistoricalVersion = AutomationVersion.history.model


def _records(automation: Automation):
    return (HistoricalVersion.objects.filter(automation_id=automation.pk, snapshot__isnull=False)
            .exclude(history_type="-").select_related("history_user").order_by("history_date", "history_id"))


def restore_note(number: int) -> str:
    """What the history says of the save that restored version ``number`` into the draft."""
    return f"restored from v{number}"


def revision_restore_note(automation: Automation, revision_id: int) -> str:
    """What the history says of the save that restored draft revision ``revision_id``."""
    record = _records(automation).filter(history_id=revision_id).first()
    at = record.history_date.astimezone(dt_timezone.utc) if record else None
    return f"restored from the v{record.number} save of {at:%Y-%m-%d %H:%M} UTC" if record else "restored"


def list_revisions(automation: Automation) -> list[dict[str, Any]]:
    """Newest first: ``{"id", "version", "state", "event", "author", "at", "diff", "note",
    "restored_from"}`` for each save (``event`` is ``saved`` for a draft save, ``activated`` for the
    save that activated it; ``note`` what a restore said, such as "restored from v1", and
    ``restored_from`` the version number when the save restored a version)."""
    revisions, previous = [], None
    for record in _records(automation):
        note = record.history_change_reason or ""
        if (previous is not None and record.snapshot == previous and record.state != VersionState.ACTIVE
                and not note):
            continue  # a save that changed nothing in the definition (the name of the automation, say)
        restored = record.restored_from is not None and note == restore_note(record.restored_from)
        revisions.append({
            "id": record.history_id,
            "version": record.number,
            "state": record.state,
            "event": "activated" if record.state == VersionState.ACTIVE else "saved",
            "author": record.history_user.get_username() if record.history_user else None,
            "at": record.history_date,
            "diff": diff_definitions(previous, record.snapshot),
            "note": note,
            "restored_from": record.restored_from if restored else None,
        })
        previous = record.snapshot
    return revisions[::-1]


def revision_definition(automation: Automation, revision_id: int) -> dict[str, Any]:
    """The definition saved in revision ``revision_id`` of ``automation``."""
    record = _records(automation).filter(history_id=revision_id).first()
    if record is None:
        raise InvalidInput(f"automation {automation.pk} has no revision {revision_id}", field="revision")
    return record.snapshot


def current_revision(automation: Automation) -> int | None:
    """The draft's revision: the id of the latest history record of the automation's versions (a
    draft save, or the activation that made the last draft active); None before any. Every save
    of the draft, activation and restore writes a record, so each one moves it on; retention keeps
    the latest record of each version."""
    return (HistoricalVersion.objects.filter(automation_id=automation.pk, snapshot__isnull=False)
            .order_by("-history_id").values_list("history_id", flat=True).first())


def check_revision(automation: Automation, expected: int | None, definition: dict[str, Any] | None = None) -> None:
    """Refuse a write based on revision ``expected`` when it is not the latest: :class:`StaleRevision`
    naming who made the newer revision, when, and what changed since ``expected`` (and, given the
    ``definition`` being saved, what saving it anyway would change). ``expected=None`` (a client that
    names no revision) always passes. Call it with the automation's row locked, in the transaction
    that writes, so that of two writes based on the same revision exactly one passes."""
    current = current_revision(automation)
    if expected is None or current is None or expected == current:
        return
    records = _records(automation)
    latest = records.order_by("-history_id").first()
    if latest is None:
        return
    named = records.filter(history_id=expected).first() if 0 < expected < 2**63 else None
    newer = list(records.filter(history_id__gt=expected)) if named else [latest]
    authors = list(dict.fromkeys(r.history_user.get_username() if r.history_user else "someone" for r in newer))
    what = (f"activated version {latest.number}" if latest.state == VersionState.ACTIVE
            else f"saved draft v{latest.number}")
    at = latest.history_date.astimezone(dt_timezone.utc)
    who = authors[-1] if len(authors) == 1 else f"{', '.join(authors[:-1])} and {authors[-1]}"
    changes = diff_definitions(named.snapshot, latest.snapshot) if named else None
    message = (f"{who} {what} at {at:%Y-%m-%d %H:%M:%S} UTC (revision {latest.history_id}), after revision "
               f"{expected} that this is based on"
               + (f"; changed since: {changes['summary']}" if changes else " (no longer in the history)")
               + f". Reload to take it, or name revision {latest.history_id} to write over it.")
    error: dict[str, Any] = {"field": "revision", "message": message, "revision": latest.history_id,
                             "based_on": expected, "author": newer[-1].history_user.get_username()
                             if newer[-1].history_user else None, "authors": authors,
                             "event": "activated" if latest.state == VersionState.ACTIVE else "saved",
                             "version": latest.number, "at": at.isoformat().replace("+00:00", "Z"),
                             "changes": changes}
    if definition is not None:
        error["overwrite"] = diff_definitions(latest.snapshot, mask_definition(definition))
    raise StaleRevision([error])
