"""The relational index of the definitions: what each step of each version refers to outside its
definition — the stored email templates it sends (by key), the named secrets it references, the
origin it calls — kept as ``StepReference`` rows beside the step rows.

The rows are written with the step rows on each save of a draft and again from the frozen
definition at activation, so every question "who uses this?" is one filtered query: deleting an
email template or a secret, checking an edit of a template, the admin's "Used by", and the API's
``?uses_template=``, ``?uses_secret=`` and ``?calls=`` filters all ask here. A version counts as
a user while it is the draft or the active version.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from django.db.models import QuerySet

from automations.actions.base import Action
from automations.models import AutomationVersion, ReferenceKind, StepReference
from automations.status import VersionState
from automations.steps import step_types, walk

#: The versions whose references count: what runs now and what will run once activated.
USING_STATES = (VersionState.ACTIVE, VersionState.DRAFT)


def origin_host(origin: str) -> str:
    """The host of an origin (``https://hooks.example.com:443`` -> ``hooks.example.com``); ``""``
    when it has none a filter could name (a host written as a template, ``{{ customer.crm }}``)."""
    _, _, rest = origin.partition("://")
    host = rest.rsplit(":", 1)[0] if rest.count(":") else rest
    return "" if not host or "{" in host or "}" in host or " " in host else host


def step_references(step: dict[str, Any]) -> set[tuple[str, str]]:
    """The ``(kind, value)`` pairs a step's JSON refers to (its own fields, not its lanes')."""
    step_type = step_types.get(step.get("type"))
    return step_type.references(step) if step_type is not None else set()


def index_version(version: AutomationVersion, steps: list[dict[str, Any]],
                  rows: dict[str, int] | None = None) -> None:
    """Replace the references of ``version`` with those of ``steps`` (its canonical steps), each
    tied to its step row (``rows``: row ids by step key, read from the version when not given)."""
    if rows is None:
        rows = dict(version.steps.values_list("key", "pk"))
    StepReference.objects.filter(version=version).delete()
    references = []
    for step in walk(steps):
        row = rows.get(step.get("key"))
        if row is None:
            continue
        for kind, value in sorted(step_references(step)):
            host = ""
            if kind == ReferenceKind.ORIGIN:
                host = origin_host(value)
                if not host:
                    continue
            references.append(StepReference(version=version, step_id=row, kind=kind, value=value[:300], host=host))
    StepReference.objects.bulk_create(references)


def as_origin(text: str) -> str:
    """``text`` (a URL or an origin) as the index keeps origins: ``https://hooks.example.com:443``."""
    return Action().destination({"url": text.strip()})


def references_to(kind: str, value: str) -> QuerySet:
    """The references of the draft and active versions to ``value``: a template's key, a secret's
    name, or for origins a host (``hooks.example.com``) or an origin or URL (``https://hooks.example.com``)."""
    found = StepReference.objects.filter(version__state__in=USING_STATES, kind=kind)
    if kind == ReferenceKind.ORIGIN:
        if "://" in value:
            return found.filter(value=as_origin(value))
        return found.filter(host=value.strip().lower())
    return found.filter(value=value)


def automation_ids_using(kind: str, value: str) -> QuerySet:
    """The ids of the automations whose draft or active version uses ``value`` (a subquery)."""
    return references_to(kind, value).values("version__automation_id")


def versions_using(kind: str, value: str) -> QuerySet:
    """The draft and active versions that use ``value``, by automation name and number."""
    return (AutomationVersion.objects.filter(pk__in=references_to(kind, value).values("version_id"))
            .select_related("automation").order_by("automation__name", "number"))


@dataclass
class Use:
    """A version that uses something, with the keys of the steps that do."""

    automation_id: int
    automation_name: str
    version_id: int
    number: int
    state: str
    steps: list[str] = field(default_factory=list)
    #: What it uses there (for a host: the origins, ``https://hooks.example.com:443``).
    values: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"“{self.automation_name}” v{self.number} ({self.state})"


def uses(kind: str, value: str) -> list[Use]:
    """The draft and active versions that use ``value``, with their steps: one query."""
    rows = (references_to(kind, value)
            .values_list("version__automation_id", "version__automation__name", "version_id", "version__number",
                         "version__state", "step__key", "value")
            .order_by("version__automation__name", "version__automation_id", "version__number", "step__position",
                      "step__key"))
    found: dict[int, Use] = {}
    for automation_id, name, version_id, number, state, step, used in rows:
        use = found.setdefault(version_id, Use(automation_id, name, version_id, number, state))
        if step not in use.steps:
            use.steps.append(step)
        if used not in use.values:
            use.values.append(used)
    return list(found.values())


def named(found: Iterable[Use]) -> str:
    """The versions of ``found`` in words: ``“Dunning” v2 (active), “Dunning” v3 (draft)``."""
    return ", ".join(str(use) for use in found)


def hosts() -> list[str]:
    """Every host a draft or active version calls, sorted (the admin's filter)."""
    return list(StepReference.objects.filter(version__state__in=USING_STATES, kind=ReferenceKind.ORIGIN)
                .exclude(host="").order_by("host").values_list("host", flat=True).distinct())


def referred_by(automation_id: int) -> dict[str, list[tuple[str, list[str]]]]:
    """What the draft and active versions of an automation refer to, by kind: each value (for
    origins, the host) with the versions that do (``["v2 (active)", "v3 (draft)"]``)."""
    rows = (StepReference.objects.filter(version__automation_id=automation_id, version__state__in=USING_STATES)
            .values_list("kind", "value", "host", "version__number", "version__state")
            .order_by("kind", "host", "value", "version__number"))
    found: dict[str, dict[str, list[str]]] = {}
    for kind, value, host, number, state in rows:
        versions = found.setdefault(kind, {}).setdefault(host or value, [])
        if f"v{number} ({state})" not in versions:
            versions.append(f"v{number} ({state})")
    return {kind: list(values.items()) for kind, values in found.items()}
