"""Secrets in whole definitions: every action step's config masked for showing (the rule is
``automations.masking``'s), and a masked definition sent back matched to the stored one."""
from __future__ import annotations

import copy
from typing import Any

from automations.actions import registry
from automations.masking import MASK, mask_config, mask_header
from automations.steps import lanes_of
from billing_events.errors import InvalidInput

Errors = list[dict[str, str]]


def mask_definition(definition: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of a definition as it may be shown: every action step's config masked."""
    if definition is None:
        return None

    def walk(steps: Any) -> Any:
        if not isinstance(steps, list):
            return steps
        shown = []
        for step in steps:
            if isinstance(step, dict):
                step = dict(step)
                if step.get("type") == "action" and isinstance(step.get("config"), dict):
                    action = registry.get(str(step.get("action", "")))
                    step["config"] = mask_config(step["config"], action.secret_fields if action else ())
                for lane in lanes_of(step):
                    if lane in step:
                        step[lane] = walk(step[lane])
            shown.append(step)
        return shown

    return {**definition, "steps": walk(definition.get("steps"))} if isinstance(definition, dict) else definition


def _holds_mask(value: Any) -> bool:
    if isinstance(value, str):
        return MASK in value
    if isinstance(value, dict):
        return any(_holds_mask(item) for item in value.values())
    return False


def _action_steps(steps: Any, found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict):
            if step.get("type") == "action" and isinstance(step.get("config"), dict) and isinstance(step.get("key"), str):
                found[step["key"]] = step
            for lane in lanes_of(step):
                _action_steps(step.get(lane), found)
    return found


def unmask_definition(definition: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """A definition sent back by a client, with each masked value replaced by the stored value it
    stands for (same step key and action, same field, same masked form).

    A masked value is kept only while the step still sends to the same host: otherwise, or when it
    matches no stored value, :class:`InvalidInput` names the field and asks for the value again —
    so nobody who may edit can send a stored secret to a host of their choosing.
    """
    definition = copy.deepcopy(definition)
    stored = _action_steps(current.get("steps") if current else None, {})
    errors: Errors = []
    for key, step in _action_steps(definition.get("steps"), {}).items():
        config = step["config"]
        if not _holds_mask(config):
            continue
        action = registry.get(str(step.get("action", "")))
        secret_fields = action.secret_fields if action else ()
        previous = stored.get(key)
        old = previous["config"] if previous and previous.get("action") == step.get("action") else {}
        restored = []
        for name, value in list(config.items()):
            path = f"steps.{key}.config.{name}"
            if name == "headers" and isinstance(value, dict):
                old_headers = old.get("headers") if isinstance(old.get("headers"), dict) else {}
                for header, item in list(value.items()):
                    if _holds_mask(item):
                        if header in old_headers and mask_header(header, old_headers[header]) == item:
                            value[header] = old_headers[header]
                            restored.append(f"{path}.{header}")
                        else:
                            errors.append({"field": f"{path}.{header}", "message": _AGAIN})
            elif _holds_mask(value):
                if name in old and mask_config({name: old[name]}, secret_fields)[name] == value:
                    config[name] = old[name]
                    restored.append(path)
                else:
                    errors.append({"field": path, "message": _AGAIN})
        if restored and action is not None:
            before, after = action.destination(old), action.destination(config)
            if before != after:
                errors += [{"field": path, "message": f"the step now sends to {after or 'another host'} instead of "
                                                      f"{before or 'where it did'}: give this secret again"}
                           for path in restored]
    if errors:
        raise InvalidInput(errors)
    return definition


_AGAIN = f"holds a masked value ({MASK}) that matches no stored value: give the value again"


def mask_history_record(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    """``pre_create_historical_record`` receiver: a history row of a step or a version keeps the masked
    config or definition, never a secret (whatever state the version is in)."""
    config = getattr(history_instance, "config", None)
    if isinstance(config, dict):
        action = registry.get(getattr(history_instance, "action", ""))
        history_instance.config = mask_config(config, action.secret_fields if action else ())
    snapshot = getattr(history_instance, "snapshot", None)
    if isinstance(snapshot, dict):
        history_instance.snapshot = mask_definition(snapshot)
