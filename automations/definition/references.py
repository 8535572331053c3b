"""What a definition refers to: outputs of its steps (``steps.<key>.output``) and fields of the
data a run reads (``invoice.status``, ``customer.metadata.plan``, ``event.data.days_before``), in
conditions, templates, loop lists and the correlation key.

Every problem here fails runs that reach it, so each is an error when saving (and so when
activating): a reference to a step that is not in the definition; a field the event catalogue
(``billing_events.catalogue``) or the action's output schema does not define, named with the
nearest one that it does; and a field that may be missing (optional, nullable, a free-form map's
key, a root the trigger may not bring) read by a template with no guard (``default(...)``, ``{% if
%}``, ``or``, or a condition on the way to the step, ``automations.definition.guards``).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2 import TemplateError

from automations.definition.fields import Outcome, RunFields, run_fields
from automations.definition.guards import (Guards, Use, condition_guards, condition_outcomes, covered, template_uses,
                                          tested_paths)
from automations.steps import lanes_of, step_types
from automations.templating import TEXT_ENV, is_template

Problems = list[dict[str, str]]


def guard_hint(path: str) -> str:
    """How to guard ``path`` in a template, for a problem's message."""
    return (f'guard it with {{{{ {path} | default("") }}}}, {{% if {path} %}}...{{% endif %}}, '
            f"or a condition {path} is_set before this step")


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _condition_fields(condition: Any, path: str) -> Iterator[tuple[str, str]]:
    if not isinstance(condition, dict):
        return
    if "field" in condition and isinstance(condition["field"], str):
        yield f"{path}.field", condition["field"]
    for group in ("all", "any"):
        for index, item in enumerate(condition.get(group) or []):
            yield from _condition_fields(item, f"{path}.{group}[{index}]")


def _steps(steps: Any) -> Iterator[dict[str, Any]]:
    """The well-formed steps of a list (a definition being edited may hold half-made ones)."""
    for step in steps if isinstance(steps, list) else ():
        if isinstance(step, dict) and isinstance(step.get("key"), str):
            yield step


def _all_steps(steps: Any, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for step in _steps(steps):
        out.append(step)
        for lane in lanes_of(step):
            _all_steps(step.get(lane), out)
    return out


def _known_inside(step: dict[str, Any], lane: str) -> dict[str, Outcome]:
    """What a step in ``lane`` of ``step`` knows of ``step`` itself: a branch has decided, an action
    has failed (its fallback); a loop has not ended."""
    if lane == "fallback":
        return {step["key"]: Outcome.FAILED}
    return {step["key"]: Outcome.SUCCEEDED} if step.get("type") == "branch" else {}


def _known_after(step: dict[str, Any]) -> Outcome:
    """How a step ended, for the steps after it: the run goes past a failed action only with
    ``on_failure: continue`` (after its fallback, if it has one)."""
    return Outcome.EITHER if step.get("on_failure") == "continue" else Outcome.SUCCEEDED


class _Checker:
    def __init__(self, definition: dict[str, Any]) -> None:
        every = _all_steps(definition.get("steps", []), [])
        self.keys = {step["key"] for step in every}
        self.fields: RunFields = run_fields(definition, every)
        self.guards: Guards = frozenset()  # what the conditions on the way to the current step guarantee
        self.reached: dict[str, Outcome] = {}  # the steps surely run before the current one, and how they ended
        self.errors: Problems = []
        self.warnings: Problems = []

    def _pinned(self, step: dict[str, Any], lane: str, before: dict[str, Outcome]) -> dict[str, Outcome]:
        """How earlier steps ended, as a branch's ``if`` (``steps.retry.output.status equals
        succeeded``) says for its lane: ``succeeded`` is only ever a success's status, ``failed`` a
        failure's where the action's own output has no status."""
        if step.get("type") != "branch":
            return {}
        pinned = {}
        for key, status in condition_outcomes(step.get("if"), lane == "then").items():
            if key not in before:
                continue
            if status == "succeeded":
                pinned[key] = Outcome.SUCCEEDED
            elif not self.fields.reports_status(key):
                pinned[key] = Outcome.FAILED
        return pinned

    def _error(self, field: str, message: str) -> None:
        problem = {"field": field, "message": message}
        if problem not in self.errors:
            self.errors.append(problem)

    def _known(self, field: str, reference: str, shadowed: frozenset[str], where: str = "") -> bool:
        """Report ``reference`` when it names no field; True when it does."""
        root, _, rest = reference.partition(".")
        if root in shadowed:
            return False  # a loop variable of the same name, whatever it holds
        if root == "steps" and rest:
            key = rest.split(".")[0]
            if key not in self.keys:
                self._error(field, f"{where}steps.{key} is not a step of this automation; "
                                   f"its steps are {', '.join(sorted(self.keys))}")
                return False
        lookup = self.fields.lookup(reference, shadowed, self.reached)
        if lookup.error:
            self._error(field, f"{where}{lookup.error}")
            return False
        return True

    def path(self, field: str, reference: str, shadowed: frozenset[str]) -> None:
        """Check one reference (``steps.x.output.y`` or ``invoice.status``) found at ``field``: a
        condition's field or the correlation key, which read a missing value as not set."""
        self._known(field, reference, shadowed)

    def needed(self, field: str, reference: str, shadowed: frozenset[str]) -> None:
        """A reference whose value the step needs (a loop's list): it must be a field, and there."""
        if self._known(field, reference, shadowed):
            self._guarded(field, Use(reference, self.guards), shadowed)

    def _guarded(self, field: str, use: Use, shadowed: frozenset[str], where: str = "") -> None:
        if use.defaulted or use.path.split(".")[0] in shadowed:
            return
        lookup = self.fields.lookup(use.path, shadowed, self.reached)
        for prefix, why in lookup.optional:
            if not covered(prefix, use.guards):
                self._error(field, f"{where}{prefix} may be missing ({why}); {guard_hint(use.path)}")
                return

    def template(self, field: str, value: str, shadowed: frozenset[str], where: str = "") -> None:
        """Check a template found at ``field`` (``where`` names a stored email template's part)."""
        if not is_template(value):
            return
        try:
            tree = TEXT_ENV.parse(value)
        except (TemplateError, RecursionError, ValueError):
            return  # syntax errors are reported by validation
        known = {path for path in tested_paths(tree) if self._known(field, path, shadowed, where)}
        for use in template_uses(tree, self.guards):
            if any(path == use.path or path.startswith(f"{use.path}.") for path in known):
                self._guarded(field, use, shadowed, where)

    def condition(self, condition: Any, path: str, shadowed: frozenset[str]) -> None:
        for field, reference in _condition_fields(condition, path):
            self.path(field, reference, shadowed)

    def strings(self, value: Any, path: str, shadowed: frozenset[str]) -> None:
        """Check the templates among the strings inside ``value`` (a config field)."""
        for field, text in _strings(value, path):
            self.template(field, text, shadowed)

    def steps(self, steps: Any, shadowed: frozenset[str]) -> None:
        for step in _steps(steps):
            step_type = step_types.get(step.get("type"))
            if step_type is None:
                continue
            inner = step_type.check_references(self, step, f"steps.{step['key']}", shadowed)
            outer, before = self.guards, self.reached
            for lane in step_type.lanes:
                self.guards = outer | step_type.lane_guards(step, lane)
                self.reached = {**before, **self._pinned(step, lane, before), **_known_inside(step, lane)}
                self.steps(step.get(lane), inner)
            self.guards = outer
            self.reached = {**before, step["key"]: _known_after(step)}


def check_references(definition: dict[str, Any]) -> tuple[Problems, Problems]:
    """``(errors, warnings)`` of a definition's references (canonical, or one still being edited:
    what is malformed is passed over, validation reports it)."""
    checker = _Checker(definition)
    checker.condition(definition.get("conditions"), "conditions", frozenset())
    checker.guards = condition_guards(definition.get("conditions"))
    if isinstance(definition.get("correlation_key"), str) and definition["correlation_key"]:
        checker.path("correlation_key", definition["correlation_key"], frozenset())
    checker.steps(definition.get("steps", []), frozenset())
    return checker.errors, checker.warnings
