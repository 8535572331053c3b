"""The action registry: keys to action classes. Built-ins and ``AUTOMATIONS["ACTIONS"]`` are
registered in ``AppConfig.ready()``; hosts may also use the decorator."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


from automations.actions.base import Action


class ActionRegistry:
    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def register(self, action_class: type[Action]) -> type[Action]:
        if not action_class.key:
            raise ValueError(f"{action_class.__name__} has no key")
        self._actions[action_class.key] = action_class()
        return action_class

    def unregister(self, key: str) -> None:
        self._actions.pop(key, None)

    def get(self, key: str) -> Action | None:
        return self._actions.get(key)

    def keys(self) -> list[str]:
        return sorted(self._actions)

    def all(self) -> list[Action]:
        return [self._actions[key] for key in self.keys()]

    @contextmanager
    def register_temporarily(self, action_class: type[Action]) -> Iterator[type[Action]]:
        """Register an action for the duration of a ``with`` block (tests)."""
        previous = self._actions.get(action_class.key)
        self.register(action_class)
        try:
            yield action_class
        finally:
            if previous is None:
                self.unregister(action_class.key)
            else:
                self._actions[action_class.key] = previous


registry = ActionRegistry()


def register_action(action_class: type[Action]) -> type[Action]:
    """Class decorator: register a host project's action under its ``key``."""
    return registry.register(action_class)
