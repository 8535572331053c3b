"""Where an email template is sent from: a change to a stored template is checked against every
active and draft version whose steps send it (found through the index of the steps,
``automations.definition.index``), so a field that does not exist, saved from one draft's panel,
cannot break the live runs of another automation."""
from __future__ import annotations

from typing import Any

from django.db import transaction

from automations.definition import index
from automations.definition.references import check_references
from automations.definition.serialize import definition_of
from automations.models import EmailTemplate, ReferenceKind


def problems_where_used(key: str) -> list[dict[str, str]]:
    """What check_references finds in stored email template ``key`` for each active or draft
    version that sends it, by the template's field (``subject``, ``body_text``, ``body_html``),
    naming the automation, the version and the step."""
    problems: list[dict[str, str]] = []
    prefix = f"email template {key}."
    for version in index.versions_using(ReferenceKind.EMAIL_TEMPLATE, key):
        errors, _ = check_references(definition_of(version))
        for error in errors:
            if not error["message"].startswith(prefix):
                continue
            field, _, what = error["message"][len(prefix):].partition(": ")
            step = error["field"].split(".")[1]
            problem = {"field": field, "message": f"{what} (“{version.automation.name}” v{version.number}, "
                                                  f"{version.state}, sends it at step {step})"}
            if problem not in problems:
                problems.append(problem)
    return problems


class _Undone(Exception):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        self.problems = problems


def problems_if_saved(key: str, values: dict[str, Any]) -> list[dict[str, str]]:
    """:func:`problems_where_used` as if stored email template ``key`` had ``values``: saved in a
    savepoint that is always rolled back (the checks read templates from the database)."""
    try:
        with transaction.atomic():
            EmailTemplate.objects.filter(key=key).update(**values)
            raise _Undone(problems_where_used(key))
    except _Undone as undone:
        return undone.problems
