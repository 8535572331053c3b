"""What a step type is: a polymorphic ``Step`` model (its storage) that also carries everything
about the type — its fields and lanes, validation, what happens when a run reaches it, how test
mode shows it, and how clients (the builder) name and show it: the step-type catalogue,
``GET step-types/``. One module per type; see "Step types" in docs/developers/extending.md.

A run reaches a step through :meth:`StepKind.reach` with a :class:`Run`: the worker's stored
execution or test mode's virtual run (``automations.engine.run_loop``). The step moves the
cursor, writes its step-log entry through ``run.log`` and says what the run does next.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst

from automations import vault
from automations.models.steps import ReferenceKind
from automations.scope import Scope
from automations.steps.cursor import Frame, Program

StepJSON = dict[str, Any]

#: The fields every step has, which its panel does not edit as its own.
COMMON_FIELDS = ("key", "type", "name")


def words(name: str) -> str:
    """A key in words: ``wait_for`` -> ``Wait for``."""
    return capfirst(name.replace("_", " ").replace("-", " ").strip()) or name


def model_field_schema(field: Any) -> dict[str, Any]:
    """The JSON Schema of a value stored in a model field: its type, length, choices, title (its
    verbose name), description (its help text) and default."""
    schema: dict[str, Any] = {}
    if field.choices:
        schema["enum"] = [value for value, _ in field.flatchoices]
    elif isinstance(field, models.BooleanField):
        schema["type"] = "boolean"
    elif isinstance(field, models.IntegerField):
        schema["type"] = "integer"
        if isinstance(field, (models.PositiveIntegerField, models.PositiveSmallIntegerField,
                              models.PositiveBigIntegerField)):
            schema["minimum"] = 0
    elif isinstance(field, (models.FloatField, models.DecimalField)):
        schema["type"] = "number"
    elif isinstance(field, models.DateTimeField):
        schema.update(type="string", format="date-time")
    elif isinstance(field, models.DateField):
        schema.update(type="string", format="date")
    elif isinstance(field, (models.CharField, models.TextField)):
        schema["type"] = "string"
        if field.max_length:
            schema["maxLength"] = field.max_length
    if field.null and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    schema["title"] = capfirst(str(field.verbose_name))
    if field.help_text:
        schema["description"] = str(field.help_text)
    if field.has_default() and not callable(field.default) and field.default not in ("", None):
        schema["default"] = field.default
    return schema


class StepFailed(Exception):
    """A step could not be evaluated on this data (a branch's condition, a delay's date, a loop's
    list); the run fails at that step."""


@dataclass
class Next:
    """What the run does after a step: go on, wait until ``wake_at``, or end with ``status``."""

    wake_at: datetime | None = None
    status: str | None = None
    error: str = ""
    reason: str = ""
    #: What the run waits for besides the time (a wait_for step's events, an approval step's
    #: request): the run's backend sets it up with the wait, which may then have no ``wake_at``.
    waits_for: dict[str, Any] | None = None


class Run(Protocol):
    """The run a step is reached in (the worker's stored execution, or test mode's virtual run)."""

    program: Program
    cursor: list[Frame]
    outputs: dict[str, Any]

    @property
    def now(self) -> datetime: ...

    def scope(self) -> Scope: ...

    def log(self, step: StepJSON, status: str, *, output: Any = None, error: str = "",
            index: str | None = None, attempt: int | None = None) -> Any:
        """One step-log entry (a StepRun row; a timeline entry in test mode)."""

    def perform(self, step: StepJSON) -> Next:
        """Run an action step: perform it (the worker) or preview it (test mode)."""

    def wait_result(self, step: StepJSON) -> Any:
        """How the wait the run is back from at ``step`` (``Next.waits_for``) ended: the step's
        output, or None when it has not (the run was woken before its time)."""

    def keep_items(self, step: StepJSON, items: list[Any], *, index: str, offset: int) -> Any:
        """Keep a loop's items once, when it is entered at ``index`` (the enclosing loops'
        positions) or fetches a collection's page starting at item ``offset``: a row of the
        execution's (the worker), memory (test mode). Returns the reference the loop's frame holds
        (``items_ref``) instead of the items."""

    def loop_items(self, ref: Any) -> list[Any]:
        """The items kept under ``ref`` by ``keep_items`` (read once per worker's pass)."""


class StepKind:
    """The behaviour of a step type, mixed into its ``Step`` model: ``class XStep(StepKind, Step)``.

    Class attributes declare the type; classmethods work on a step's JSON (the definition), the
    one instance method on its row.
    """

    type_name: ClassVar[str] = ""
    #: The step's own JSON fields (besides key, type, name and its lanes).
    fields: ClassVar[tuple[str, ...]] = ()
    #: The step's nested step lists, in the order they are written and walked.
    lanes: ClassVar[tuple[str, ...]] = ()
    #: Lanes written out even when empty (a loop's ``steps``).
    kept_lanes: ClassVar[tuple[str, ...]] = ()
    #: True when ``reach`` commits its own work (an action's intent and result); otherwise the
    #: run commits the step's log entry and cursor move together, in one transaction.
    commits_itself: ClassVar[bool] = False

    # How clients name and show the type (the step-type catalogue, see ``describe``). Each has a
    # default, so a type that declares none is still offered, named and edited.
    #: What an operator calls it ("Wait for event"); by default its type name in words ("Noop").
    type_label: ClassVar[str] = ""
    #: What it is for, in a sentence; by default its schema's description, if any.
    type_description: ClassVar[str] = ""
    #: The builder's icon for it: ``action``, ``delay``, ``wait_for``, ``approval``, ``branch``,
    #: ``split``, ``loop``, ``stop``, ``email``, ``sms``, ``slack``, ``webhook``, ``money``, ``void``,
    #: ``record``, ``tag``, ``task``, or the generic ``step`` (the default).
    type_icon: ClassVar[str] = "step"
    #: Where the catalogue (and the builder's palette) lists it: lower first, then as registered.
    type_order: ClassVar[int] = 100
    #: What its lanes are called ({"then": "Then"}); by default their names in words.
    lane_labels: ClassVar[dict[str, str]] = {}
    #: What a new step of the type starts with besides its type (its kept lanes empty, and the
    #: defaults of its schema): what an operator would most often want, so that a step just added
    #: is not already a problem.
    starts_with: ClassVar[StepJSON] = {}
    #: Better starting fields where the run brings some data: ``(root, fields)`` pairs, the first
    #: whose root (``invoice``) the run has where the step is added replaces those fields.
    starts_with_data: ClassVar[tuple[tuple[str, StepJSON], ...]] = ()
    #: How a card sums it up: templates over its fields (``"wait {duration}"``), the first whose
    #: fields are all set; by default its fields' values.
    card_summary: ClassVar[tuple[str, ...]] = ()
    #: The JSON Schema of what later steps read as ``steps.<key>.output``, when the type knows it.
    output_schema: ClassVar[dict[str, Any] | None] = None
    #: The variable its lanes add and the field that names it, with its default (a loop's
    #: ``("as", "item")``), or None.
    lane_variable: ClassVar[tuple[str, str] | None] = None

    # -- definition -------------------------------------------------------------------------------

    @classmethod
    def key_base(cls, step: StepJSON) -> str:
        """What a generated key starts with (``delay_3``)."""
        return cls.type_name

    @classmethod
    def validate(cls, validator: Any, step: StepJSON, path: str, loop_vars: tuple[str, ...],
                 canonical: StepJSON) -> StepJSON:
        """Check ``step``'s own fields and lanes through ``validator`` (its ``error``, ``templates``,
        ``retry_policy``, ``step_list``); returns ``canonical`` completed (defaults left out)."""
        for field in cls.fields:
            if field in step:
                canonical[field] = step[field]
        for lane in cls.lanes:
            steps = step.get(lane, [])
            if not isinstance(steps, list):
                validator.error(f"{path}.{lane}", "must be a list of steps")
            elif steps:
                canonical[lane] = validator.step_list(steps, f"{path}.{lane}", loop_vars)
        return canonical

    @classmethod
    def check_references(cls, checker: Any, step: StepJSON, path: str, shadowed: frozenset[str]) -> frozenset[str]:
        """Report references to unknown steps and fields through ``checker``; returns the names its
        lanes see shadowed (a loop's item)."""
        return shadowed

    @classmethod
    def lane_guards(cls, step: StepJSON, lane: str) -> frozenset[str]:
        """The fields surely there whenever the run is in ``lane`` (those a branch's ``if`` needs
        set to be true, in ``then``): templates there need not guard them."""
        return frozenset()

    @classmethod
    def loop_variables(cls, step: StepJSON) -> tuple[str, ...]:
        """Variables the step's lanes add (a loop's ``as``)."""
        return ()

    @classmethod
    def schema_defs(cls, kit: Any) -> dict[str, dict[str, Any]]:
        """JSON Schemas of the step, by name, for the definition's schema (``kit`` holds its parts);
        by default each field as its model field stores it (``field_schema``)."""
        return {f"{cls.__name__}": kit.object({
            "key": kit.step_key, "type": {"const": cls.type_name}, "name": {"type": "string"},
            **{field: cls.field_schema(field) for field in cls.fields}, **{lane: kit.steps for lane in cls.lanes}},
            ("type",))}

    @classmethod
    def field_schema(cls, field: str) -> dict[str, Any]:
        """The JSON Schema of one of its ``fields`` for the default ``schema_defs``: from the model
        field of the same name (its type, length, choices, verbose name and help text), else any value."""
        meta = getattr(cls, "_meta", None)
        try:
            return model_field_schema(meta.get_field(field)) if meta is not None else {}
        except FieldDoesNotExist:
            return {}

    @classmethod
    def describe(cls, schema: dict[str, Any]) -> dict[str, Any]:
        """The type's entry in the step-type catalogue (``GET step-types/``: the builder's palette,
        cards and panel), ``schema`` being the JSON Schema of its own fields (``schema_defs`` without
        key, type, name and lanes). What the type does not declare is derived from its type name
        and that schema: a label in words, the generic icon, its fields on its card."""
        properties = schema.get("properties") or {}
        label = cls.type_label or words(cls.type_name)
        blank: StepJSON = {"type": cls.type_name}
        blank.update({name: copy.deepcopy(field["default"]) for name, field in properties.items()
                      if isinstance(field, dict) and "default" in field})
        blank.update(copy.deepcopy(cls.starts_with))
        for lane in cls.kept_lanes:
            blank.setdefault(lane, [])
        if cls.card_summary:
            summary = list(cls.card_summary)
        elif len(properties) == 1:
            summary = ["{%s}" % next(iter(properties))]
        else:
            summary = [" · ".join(f"{(field or {}).get('title') or words(name)}: {{{name}}}"
                                  for name, field in properties.items())] if properties else []
        variable = cls.lane_variable
        return {
            "type": cls.type_name,
            "label": label,
            "description": cls.type_description or str(schema.get("description", "")),
            "icon": cls.type_icon or "step",
            "lanes": list(cls.lanes),
            "lane_labels": {lane: cls.lane_labels.get(lane) or words(lane) for lane in cls.lanes},
            "blank": blank,
            "blank_by_data": [{"root": root, "fields": copy.deepcopy(fields)} for root, fields in cls.starts_with_data],
            "schema": schema,
            "summary": summary,
            "scope": {"output": copy.deepcopy(cls.output_schema),
                      "lane_variable": {"field": variable[0], "default": variable[1]} if variable else None},
        }

    # -- storage ----------------------------------------------------------------------------------

    @classmethod
    def row_values(cls, step: StepJSON) -> dict[str, Any]:
        """The model's field values for ``step``."""
        return {}

    def definition_fields(self) -> StepJSON:
        """The step's own JSON fields, from its row (defaults left out)."""
        return {}

    @classmethod
    def references(cls, step: StepJSON) -> set[tuple[str, str]]:
        """What ``step`` refers to outside the definition, as ``(kind, value)`` pairs of
        ``ReferenceKind``, written with its row (``automations.definition.index``): here the named
        secrets its own fields reference (not its lanes'); a type that sends a stored template or
        calls out adds those."""
        own = {field: step[field] for field in cls.fields if field in step}
        return {(ReferenceKind.SECRET, name) for name in vault.referenced_names(own)}

    # -- runs -------------------------------------------------------------------------------------

    @classmethod
    def reach(cls, run: Run, step: StepJSON) -> Next:
        """A run reached the step: do what it does, move ``run.cursor``, log it; what comes next."""
        raise NotImplementedError

    @classmethod
    def waiting_state(cls, step_run: Any, execution: Any) -> tuple[str, str] | None:
        """How the step log shows this step when it is the last one logged and the run waits in it
        (or was canceled while waiting): ``(status, label)``, or None when the step does not wait."""
        return None

    @classmethod
    def refill(cls, run: Run, step: StepJSON) -> None:
        """The step's frame (the top one) ran through its items and has more to fetch (a loop over
        a collection, page by page)."""
        raise NotImplementedError

    @classmethod
    def timeline(cls, output: Any, now: datetime) -> dict[str, Any]:
        """How test mode's timeline shows a step that logged ``output``."""
        return dict(output or {})
