"""What a definition refers to: outputs of its steps (``steps.<key>.output``) and fields of the
billing entities (``invoice.status``), in conditions, templates, loop lists and the correlation key.

A reference to a step that is not in the definition fails every run that reaches it, so it is an
error when saving. A field the entity schemas do not document may still be in a host's data, so
it is a warning: the builder shows it, saving goes on.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2 import TemplateError, nodes

from automations.steps import lanes_of, step_types
from automations.templating import TEXT_ENV, is_template
from billing_events.catalogue import ENTITY_SCHEMAS

Problems = list[dict[str, str]]


def _template_paths(source: str) -> Iterator[str]:
    """The dotted paths a template reads: ``{{ steps.retry.output.code }}`` -> ``steps.retry.output.code``."""
    try:
        tree = TEXT_ENV.parse(source)
    except TemplateError:
        return  # syntax errors are reported by validation
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        parts: list[str] = []
        current: Any = node
        while isinstance(current, (nodes.Getattr, nodes.Getitem)):
            if isinstance(current, nodes.Getattr):
                parts.append(current.attr)
            elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, str):
                parts.append(current.arg.value)
            else:
                parts = []
                break
            current = current.node
        if parts and isinstance(current, nodes.Name):
            yield ".".join([current.name, *reversed(parts)])


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


class _Checker:
    def __init__(self, definition: dict[str, Any]) -> None:
        self.keys = set()
        self._collect(definition.get("steps", []))
        self.errors: Problems = []
        self.warnings: Problems = []

    def _collect(self, steps: Any) -> None:
        for step in _steps(steps):
            self.keys.add(step["key"])
            for lane in lanes_of(step):
                self._collect(step.get(lane))

    def path(self, field: str, reference: str, shadowed: frozenset[str]) -> None:
        """Check one reference (``steps.x.output.y`` or ``invoice.status``) found at ``field``."""
        root, _, rest = reference.partition(".")
        if root in shadowed:
            return  # a loop variable of the same name, whatever it holds
        if root == "steps" and rest:
            key = rest.split(".")[0]
            if key not in self.keys:
                self.errors.append({"field": field, "message": f"steps.{key} is not a step of this automation; "
                                                                f"its steps are {', '.join(sorted(self.keys))}"})
            return
        schema = ENTITY_SCHEMAS.get(root)
        name = rest.split(".")[0]
        if schema is not None and name and name not in schema.get("properties", {}):
            known = ", ".join(sorted(schema["properties"]))
            self.warnings.append({"field": field, "message": f"{root}.{name} is not a documented field of {root} "
                                                             f"({known}); runs see it as not set unless your billing "
                                                             "data has it"})

    def template(self, field: str, value: str, shadowed: frozenset[str]) -> None:
        if is_template(value):
            for reference in _template_paths(value):
                self.path(field, reference, shadowed)

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
            for lane in step_type.lanes:
                self.steps(step.get(lane), inner)


def check_references(definition: dict[str, Any]) -> tuple[Problems, Problems]:
    """``(errors, warnings)`` of a definition's references (canonical, or one still being edited:
    what is malformed is passed over, validation reports it)."""
    checker = _Checker(definition)
    checker.condition(definition.get("conditions"), "conditions", frozenset())
    if isinstance(definition.get("correlation_key"), str) and definition["correlation_key"]:
        checker.path("correlation_key", definition["correlation_key"], frozenset())
    checker.steps(definition.get("steps", []), frozenset())
    return checker.errors, checker.warnings
