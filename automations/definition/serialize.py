"""Canonical definition JSON <-> an AutomationVersion and its step rows. Round trip is exact."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import transaction

from automations.definition.index import index_version
from automations.models import AutomationVersion, Step
from automations.status import Reentry
from automations.steps import step_types, walk


def _step_json(row: Step, children: dict[tuple[int, str], list[Step]]) -> dict[str, Any]:
    data: dict[str, Any] = {"key": row.key, "type": row.type_name, **row.definition_fields()}
    for lane in row.lanes:
        body = children.get((row.pk, lane), [])
        if body or lane in row.kept_lanes:
            data[lane] = [_step_json(child, children) for child in body]
    return data


def definition_of(version: AutomationVersion) -> dict[str, Any]:
    """The canonical JSON of ``version``: its snapshot (rebuilt from the rows for drafts saved
    before drafts kept it)."""
    if version.snapshot is not None:
        return version.snapshot
    return version_to_definition(version)


def version_to_definition(version: AutomationVersion) -> dict[str, Any]:
    """The canonical definition JSON of ``version``, rebuilt from its rows."""
    children: dict[tuple[int | None, str], list[Step]] = defaultdict(list)
    for row in version.steps.all().order_by("position", "pk"):
        children[(row.parent_id, row.slot)].append(row)
    definition: dict[str, Any] = {"name": version.name, "trigger": version.trigger}
    if version.description:
        definition["description"] = version.description
    if version.conditions is not None:
        definition["conditions"] = version.conditions
    if version.correlation_key:
        definition["correlation_key"] = version.correlation_key
    if version.reentry != Reentry.ALLOW:
        definition["reentry"] = version.reentry
    if version.exit_on:
        definition["exit_on"] = version.exit_on
    if version.retry is not None:
        definition["retry"] = version.retry
    definition["steps"] = [_step_json(row, children) for row in children[(None, "steps")]]
    return definition


@transaction.atomic
def save_definition(version: AutomationVersion, canonical: dict[str, Any], user: Any = None) -> None:
    """Write a validated canonical definition into ``version`` (a draft).

    The whole definition is kept on the version row too, so each save is one history record of
    the version holding the complete definition: a draft revision that can be listed, compared
    and restored as a whole. What the steps refer to (templates, secrets, origins) is written
    with the rows (``automations.definition.index``). Steps are matched by key and updated in place, so the history of a
    step that survives an edit reads as changes to that step rather than a delete and a create.
    """
    if user is not None:
        version._history_user = user  # the API's token users are not the request's user yet
    version.snapshot = canonical
    version.name = canonical["name"]
    version.description = canonical.get("description", "")
    version.trigger = canonical["trigger"]
    version.conditions = canonical.get("conditions")
    version.correlation_key = canonical.get("correlation_key", "")
    version.reentry = canonical.get("reentry", Reentry.ALLOW)
    version.exit_on = canonical.get("exit_on", [])
    version.retry = canonical.get("retry")
    version.save()

    existing = {row.key: row for row in version.steps.all()}
    wanted = {step["key"]: step["type"] for step in walk(canonical["steps"])}
    # Detach first: deleting a removed parent must not cascade onto children that move elsewhere.
    version.steps.exclude(parent=None).update(parent=None)
    for key, row in list(existing.items()):
        if wanted.get(key) != row.type_name:
            row.delete()
            del existing[key]

    rows: dict[str, int] = {}

    def write(steps: list[dict[str, Any]], parent: Step | None, slot: str) -> None:
        for position, step in enumerate(steps):
            step_type = step_types.get(step["type"])
            values = {"parent": parent, "slot": slot, "position": position, **step_type.row_values(step)}
            row = existing.get(step["key"])
            if row is None:
                row = step_type(version=version, key=step["key"], **values)
            else:
                for field, value in values.items():
                    setattr(row, field, value)
            if user is not None:
                row._history_user = user
            row.save()
            rows[step["key"]] = row.pk
            for lane in step_type.lanes:
                write(step.get(lane, []), row, lane)

    write(canonical["steps"], None, "steps")
    index_version(version, canonical["steps"], rows)

