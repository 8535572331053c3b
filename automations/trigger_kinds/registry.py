"""The trigger-kind registry: trigger types (``event``, ``schedule``, ``manual``) to their kinds,
and the check of a definition's ``trigger`` that dispatches by it.

The built-in kinds register themselves when ``automations.trigger_kinds`` is imported; a host or
a test registers its own with :func:`register_trigger_kind`.
"""
from __future__ import annotations

from typing import Any

from automations.steps.registry import StepTypeRegistry
from automations.trigger_kinds.base import Errors

#: Keyed by ``type_name`` as the step types are; the same registry class serves both.
trigger_kinds = StepTypeRegistry()


def register_trigger_kind(kind: type) -> type:
    """Class decorator: register a trigger kind (a subclass of ``TriggerKind``) under its ``type_name``."""
    return trigger_kinds.register(kind)


def ordered() -> list[Any]:
    """The kinds in the catalogue's order: by ``order``, then as registered."""
    return sorted(trigger_kinds.all(), key=lambda kind: kind.order)


def validate_trigger(trigger: Any) -> Errors:
    """Problems with a definition's ``trigger``, each naming its field."""
    known = [kind.type_name for kind in ordered()]
    names = f"{', '.join(known[:-1])} or {known[-1]}" if len(known) > 1 else "".join(known)
    if not isinstance(trigger, dict):
        return [{"field": "trigger", "message": f'is required: an object with "type" ({names})'}]
    kind = trigger_kinds.get(trigger.get("type"))
    if kind is None:
        return [{"field": "trigger.type", "message": f"{trigger.get('type')!r} is not a trigger type; use {names}"}]
    return kind.validate(trigger)
