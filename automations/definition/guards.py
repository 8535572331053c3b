"""Where a value that may be missing is guarded: in a template (parsed by Jinja2, walked node by
node) and by the conditions on the way to a step.

A template guards a path with ``default(...)``, inside ``{% if path %}`` or ``{% if path is
defined %}`` (and ``and``), on the left of ``or``, or in a ``x if path else y``; the test itself
only asks whether the value is there, which a missing value answers (false) without failing. A
condition guards the fields it needs set to hold (``is_set``, ``equals``, ...) for the steps it
lets through.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes

from automations.conditions import HOLDS_WHEN_MISSING
from automations.templating import node_path

Guards = frozenset[str]


@dataclass(frozen=True)
class Use:
    """A path a template reads where a missing value fails it, and what guards it there."""
    path: str
    guards: Guards
    defaulted: bool = False


def covered(prefix: str, guards: Guards) -> bool:
    """True when a guard on ``prefix`` or on a field inside it says ``prefix`` is there."""
    return any(guard == prefix or guard.startswith(f"{prefix}.") for guard in guards)


# -- templates --------------------------------------------------------------------------------


def _asserted(test: nodes.Node, truth: bool) -> Guards:
    """The paths that are surely there when ``test`` is ``truth``."""
    if isinstance(test, nodes.Not):
        return _asserted(test.node, not truth)
    if isinstance(test, nodes.And):
        if truth:
            return _asserted(test.left, True) | _asserted(test.right, True)
        return _asserted(test.left, False) & _asserted(test.right, False)
    if isinstance(test, nodes.Or):
        if truth:
            return _asserted(test.left, True) & _asserted(test.right, True)
        return _asserted(test.left, False) | _asserted(test.right, False)
    if isinstance(test, nodes.Test):
        path = node_path(test.node)
        if path and test.name == "defined" and truth:
            return frozenset({path})
        if path and test.name == "undefined" and not truth:
            return frozenset({path})
        if path and test.name == "none" and not truth:
            return frozenset({path})
        return frozenset()
    if truth:
        if isinstance(test, nodes.Compare):
            return frozenset(path for path in [node_path(test.expr)] if path)
        path = node_path(test)
        return frozenset({path}) if path else frozenset()
    return frozenset()


def _tested(node: nodes.Node, guards: Guards) -> Iterator[Use]:
    """Uses inside an expression evaluated for its truth only (an ``if``'s test, ``or``'s left)."""
    if isinstance(node, nodes.Not):
        yield from _tested(node.node, guards)
    elif isinstance(node, (nodes.And, nodes.Or)):
        yield from _tested(node.left, guards)
        yield from _tested(node.right, guards | _asserted(node.left, isinstance(node, nodes.And)))
    elif isinstance(node, nodes.Test):
        if node_path(node.node) is None:
            yield from _expression(node.node, guards)
        for arg in node.args:
            yield from _expression(arg, guards)
    elif node_path(node) is None:
        yield from _expression(node, guards)


def _expression(node: nodes.Node, guards: Guards) -> Iterator[Use]:
    """Uses inside an expression whose value is used (printed, compared, filtered, iterated)."""
    path = node_path(node)
    if path is not None:
        yield Use(path, guards)
        return
    if isinstance(node, nodes.Filter) and node.name in ("default", "d"):
        inner = node_path(node.node) if node.node is not None else None
        if inner is not None:
            yield Use(inner, guards, defaulted=True)
        elif node.node is not None:
            yield from _expression(node.node, guards)
        for arg in [*node.args, *(kw.value for kw in node.kwargs)]:
            yield from _expression(arg, guards)
        return
    if isinstance(node, nodes.Or):
        yield from _tested(node.left, guards)
        yield from _expression(node.right, guards | _asserted(node.left, False))
        return
    if isinstance(node, nodes.And):
        yield from _tested(node.left, guards)
        yield from _expression(node.right, guards | _asserted(node.left, True))
        return
    if isinstance(node, nodes.Not):
        yield from _tested(node.node, guards)
        return
    if isinstance(node, nodes.CondExpr):
        yield from _tested(node.test, guards)
        yield from _expression(node.expr1, guards | _asserted(node.test, True))
        if node.expr2 is not None:
            yield from _expression(node.expr2, guards | _asserted(node.test, False))
        return
    if isinstance(node, nodes.Test):
        yield from _tested(node, guards)
        return
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr) and node_path(node.node):
        yield from _expression(node.node.node, guards)  # a method of a value: customer.name.upper()
        for arg in [*node.args, *(kw.value for kw in node.kwargs)]:
            yield from _expression(arg, guards)
        return
    for child in node.iter_child_nodes():
        yield from _expression(child, guards)


def _statements(body: list[nodes.Node], guards: Guards) -> Iterator[Use]:
    for node in body:
        if isinstance(node, nodes.If):
            yield from _tested(node.test, guards)
            yield from _statements(node.body, guards | _asserted(node.test, True))
            otherwise = guards | _asserted(node.test, False)
            for branch in node.elif_:
                yield from _tested(branch.test, otherwise)
                yield from _statements(branch.body, otherwise | _asserted(branch.test, True))
                otherwise = otherwise | _asserted(branch.test, False)
            yield from _statements(node.else_, otherwise)
        elif isinstance(node, nodes.Output):
            for child in node.nodes:
                if not isinstance(child, nodes.TemplateData):
                    yield from _expression(child, guards)
        elif isinstance(node, nodes.For):
            yield from _expression(node.iter, guards)
            if node.test is not None:
                yield from _tested(node.test, guards)
            yield from _statements(node.body, guards)
            yield from _statements(node.else_, guards)
        else:
            for child in node.iter_child_nodes():
                if isinstance(child, nodes.Stmt):
                    yield from _statements([child], guards)
                elif isinstance(child, nodes.Expr):
                    yield from _expression(child, guards)


def template_uses(tree: nodes.Template, guards: Guards = frozenset()) -> list[Use]:
    """Every path a parsed template reads, with the guards in force where it reads it (a path
    only tested, ``{% if x %}``, is not a use: a missing value is false)."""
    return list(_statements(tree.body, guards))


def tested_paths(tree: nodes.Template) -> list[str]:
    """Every path a parsed template names, tested or used (to check it is a field at all)."""
    paths = []
    methods = {id(call.node) for call in tree.find_all(nodes.Call) if isinstance(call.node, nodes.Getattr)}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        path = node_path(node) if id(node) not in methods else None
        if path:
            paths.append(path)
    return [path for path in dict.fromkeys(paths) if not any(other.startswith(f"{path}.") for other in paths)]


# -- conditions --------------------------------------------------------------------------------


def condition_guards(condition: Any, truth: bool = True) -> Guards:
    """The fields surely set when ``condition`` evaluates to ``truth`` (a leaf whose operator fails
    on a missing value needs it set to hold; one that holds on a missing value needs it set to fail)."""
    if not isinstance(condition, dict):
        return frozenset()
    if "field" in condition:
        field, operator = condition.get("field"), condition.get("operator")
        if not isinstance(field, str) or not isinstance(operator, str):
            return frozenset()
        needs_value = operator not in HOLDS_WHEN_MISSING
        return frozenset({field}) if needs_value == truth else frozenset()
    for group, joins_all in (("all", True), ("any", False)):
        items = condition.get(group)
        if isinstance(items, list) and items:
            parts = [condition_guards(item, truth) for item in items]
            if joins_all == truth:  # all true, or any false: each item's guards hold
                return frozenset().union(*parts)
            return frozenset.intersection(*parts)
    return frozenset()


_STATUS = re.compile(r"steps\.([^.]+)\.output\.status")


def condition_outcomes(condition: Any, truth: bool = True) -> dict[str, str]:
    """The steps whose ``status`` ``condition`` being ``truth`` pins: ``{"retry": "succeeded"}``
    where it holds only when ``steps.retry.output.status`` equals ``succeeded`` (or ``failed``)."""
    if not isinstance(condition, dict):
        return {}
    if "field" in condition:
        match = _STATUS.fullmatch(str(condition.get("field")))
        operator, value = condition.get("operator"), condition.get("value")
        if match and value in ("succeeded", "failed") and (operator, truth) in (("equals", True),
                                                                                ("not_equals", False)):
            return {match[1]: value}
        return {}
    for group, joins_all in (("all", True), ("any", False)):
        items = condition.get(group)
        if isinstance(items, list) and items:
            parts = [condition_outcomes(item, truth) for item in items]
            if joins_all == truth:  # each item's pins hold; two that disagree cannot both
                merged: dict[str, str] = {}
                for part in parts:
                    for key, status in part.items():
                        merged[key] = status if merged.get(key, status) == status else ""
                return {key: status for key, status in merged.items() if status}
            return {key: status for key, status in parts[0].items() if all(part.get(key) == status for part in parts)}
    return {}
