"""The actions a project has: the built-ins and those ``AUTOMATIONS["ACTIONS"]`` names, registered
when the app is ready (the built-ins import the registry, so the registry cannot import them)."""
from __future__ import annotations

from django.utils.module_loading import import_string

from automations.actions.base import Action
from automations.actions.builtin import BUILTIN_ACTIONS
from automations.actions.registry import registry
from automations.conf import app_settings


def register_configured_actions() -> None:
    """Register the built-in actions and those named in ``AUTOMATIONS["ACTIONS"]`` (dotted paths)."""
    for action_class in BUILTIN_ACTIONS:
        registry.register(action_class)
    for path in app_settings.ACTIONS:
        try:
            action_class = import_string(path)
        except ImportError as exc:
            raise ImportError(f"AUTOMATIONS['ACTIONS'] names {path!r}, which cannot be imported: {exc}") from exc
        if not (isinstance(action_class, type) and issubclass(action_class, Action)):
            raise TypeError(f"AUTOMATIONS['ACTIONS'] names {path!r}, which is not an Action subclass")
        registry.register(action_class)
