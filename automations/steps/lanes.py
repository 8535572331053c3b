"""The one way to walk a definition's nested steps: each step type names its lanes (a branch's
``then``/``else``, a loop's ``steps``, an action's ``fallback``)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from automations.steps.registry import step_types


def lanes_of(step: Any) -> tuple[str, ...]:
    """The lanes of ``step`` (a step's JSON); none for what is not a step of a known type."""
    step_type = step_types.get(step.get("type")) if isinstance(step, dict) else None
    return step_type.lanes if step_type is not None else ()


def walk(steps: Any) -> Iterator[dict[str, Any]]:
    """Every step of ``steps`` and of their lanes, depth first, in definition order. What is not a
    list of step objects (a definition still being edited) is passed over."""
    for step in steps if isinstance(steps, list) else ():
        if isinstance(step, dict):
            yield step
            for lane in lanes_of(step):
                yield from walk(step.get(lane))
