"""What a step type is: a polymorphic ``Step`` model (its storage) that also carries everything
about the type — its fields and lanes, validation, what happens when a run reaches it, and how
test mode shows it. One module per type; see "Step types" in docs/developers/extending.md.

A run reaches a step through :meth:`StepKind.reach` with a :class:`Run`: the worker's stored
execution or test mode's virtual run (``automations.engine.run_loop``). The step moves the
cursor, writes its step-log entry through ``run.log`` and says what the run does next.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from automations import vault
from automations.models.steps import ReferenceKind
from automations.scope import Scope
from automations.steps.cursor import Frame, Program

StepJSON = dict[str, Any]


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
        """JSON Schemas of the step, by name, for the definition's schema (``kit`` holds its parts)."""
        return {f"{cls.__name__}": kit.object({
            "key": kit.step_key, "type": {"const": cls.type_name}, "name": {"type": "string"},
            **{field: {} for field in cls.fields}, **{lane: kit.steps for lane in cls.lanes}}, ("type",))}

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
