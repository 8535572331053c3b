"""Actions: what an action step does. Each is a class registered under its key."""
from automations.actions.base import Action, ActionContext, ActionError
from automations.actions.registry import register_action, registry

__all__ = ["Action", "ActionContext", "ActionError", "register_action", "registry"]
