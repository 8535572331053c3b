"""Actions: what an action step does. Each is a class registered under its key."""
from automations.actions.base import Action, ActionContext, ActionError, Effect
from automations.actions.registry import register_action, registry

__all__ = ["Action", "ActionContext", "ActionError", "Effect", "register_action", "registry"]
