"""Trigger kinds, one module each (event, schedule, manual), and their registry.

Importing this package registers the built-in kinds, in the order the catalogue lists them.
"""
from automations.trigger_kinds import event, schedule, manual  # noqa: F401,I001  (registers the built-ins)
from automations.trigger_kinds.base import DATA_SOURCES, TriggerKind
from automations.trigger_kinds.registry import ordered, register_trigger_kind, trigger_kinds, validate_trigger

__all__ = ["DATA_SOURCES", "TriggerKind", "ordered", "register_trigger_kind", "trigger_kinds", "validate_trigger"]
