"""The step-type registry: type names (``action``, ``branch``, ...) to their step models.

The built-in types register themselves when ``automations.steps`` is imported (the app does it
while it loads its models); a host or a test registers its own with :func:`register_step_type`.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class StepTypeRegistry:
    def __init__(self) -> None:
        self._types: dict[str, Any] = {}

    def register(self, step_type: type) -> type:
        if not getattr(step_type, "type_name", ""):
            raise ValueError(f"{step_type.__name__} has no type_name")
        self._types[step_type.type_name] = step_type
        return step_type

    def unregister(self, name: str) -> None:
        self._types.pop(name, None)

    def get(self, name: Any) -> Any:
        """The step model of type ``name``, or None."""
        return self._types.get(name) if isinstance(name, str) else None

    def names(self) -> list[str]:
        """Type names in registration order (the built-ins first, as the docs list them)."""
        return list(self._types)

    def all(self) -> list[Any]:
        return list(self._types.values())

    @contextmanager
    def register_temporarily(self, step_type: type) -> Iterator[type]:
        """Register a step type for the duration of a ``with`` block (tests)."""
        previous = self._types.get(step_type.type_name)
        self.register(step_type)
        try:
            yield step_type
        finally:
            if previous is None:
                self.unregister(step_type.type_name)
            else:
                self._types[step_type.type_name] = previous


step_types = StepTypeRegistry()


def register_step_type(step_type: type) -> type:
    """Class decorator: register a step model (a subclass of ``StepKind`` and ``Step``) under its
    ``type_name``."""
    return step_types.register(step_type)
