"""Validation of a definition. Every problem is reported with a path that names the step key.

``validate_definition`` returns the canonical form (step keys generated where omitted, default
values dropped), which is what gets stored and what ``version_to_definition`` gives back.
"""
from __future__ import annotations

import re
from typing import Any

from automations import conditions, vault
from automations.definition.references import check_references
from automations.definition.trigger import validate_timezone
from automations.durations import parse as parse_duration
from automations.messaging.validation import frequency_caps_errors
from automations.status import Reentry
from automations.steps import lanes_of, step_types
from automations.templating import is_template, referenced_roots, template_problem
from automations.trigger_kinds import validate_trigger
from automations.variables import ROOTS
from billing_events.catalogue import event_type_names, get_event_type
from billing_events.errors import InvalidInput
from billing_events.validation import check_json, contains_nul

Errors = list[dict[str, str]]

TOP_LEVEL = {"name", "description", "trigger", "conditions", "correlation_key", "reentry", "exit_on", "retry",
             "timezone", "frequency_caps", "steps"}
#: Fields every step has; each type adds its own and its lanes (``automations.steps``).
COMMON_STEP_FIELDS = {"key", "type", "name"}
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
RETRY_FIELDS = {"max_attempts", "initial_interval", "backoff_coefficient", "max_interval"}


def validate_definition(definition: Any) -> dict[str, Any]:
    """The canonical form of ``definition``, or :class:`InvalidInput` listing every problem."""
    if not isinstance(definition, dict):
        raise InvalidInput("a definition must be a JSON object", field="definition")
    check_json(definition, "definition")
    if contains_nul(definition):
        raise InvalidInput("text must not contain NUL characters", field="definition")
    validator = _Validator()
    canonical = validator.definition(definition)
    if validator.errors:
        raise InvalidInput(validator.errors)
    errors, _ = check_references(canonical)
    if errors:
        raise InvalidInput(errors)
    return canonical


class _Validator:
    """Collects every problem of a definition; step types check their own fields through it
    (``error``, ``templates``, ``retry_policy``, ``step_list``)."""

    def __init__(self) -> None:
        self.errors: Errors = []
        self.keys: set[str] = set()  # every explicit key, so generated ones avoid them
        self.correlation_key = ""
        self.seen: set[str] = set()  # keys met so far, to report duplicates
        self.counter = 0

    def error(self, field: str, message: str) -> None:
        self.errors.append({"field": field, "message": message})

    # -- top level -----------------------------------------------------------------------------

    def definition(self, data: dict[str, Any]) -> dict[str, Any]:
        for key in sorted(set(data) - TOP_LEVEL):
            self.error(key, "is not a known field of a definition")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            self.error("name", "is required")
        elif len(name) > 200:
            self.error("name", "must be at most 200 characters")
        description = data.get("description", "")
        if not isinstance(description, str):
            self.error("description", "must be text")
        self.errors += validate_trigger(data.get("trigger"))
        if data.get("conditions") is not None:
            self.errors += conditions.validate(data["conditions"], "conditions")
        correlation_key = data.get("correlation_key", "")
        self.correlation_key = correlation_key if isinstance(correlation_key, str) else ""
        if correlation_key and (not isinstance(correlation_key, str)
                                or correlation_key.split(".")[0] not in ROOTS):
            self.error("correlation_key", f"{correlation_key!r} must be a field path such as invoice.id")
        reentry = data.get("reentry", Reentry.ALLOW)
        if reentry not in Reentry.values:
            self.error("reentry", f"{reentry!r} is not one of {', '.join(Reentry.values)}")
        if reentry != Reentry.ALLOW and not correlation_key:
            self.error("reentry", f"“Starting again: {reentry}” needs the setting “What a run is about” "
                                  f"(correlation_key) to know which runs are the same")
        exit_on = data.get("exit_on", [])
        if not isinstance(exit_on, list):
            self.error("exit_on", "must be a list of event types")
            exit_on = []
        for index, event in enumerate(exit_on):
            if not isinstance(event, str) or get_event_type(event) is None:
                self.error(f"exit_on[{index}]", f"unknown event type {event!r}; known: {', '.join(event_type_names())}")
        if exit_on and not correlation_key:
            self.error("exit_on", "needs the setting “What a run is about” (correlation_key) to know which run "
                                  "an event ends")
        if data.get("retry") is not None:
            self.retry_policy(data["retry"], "retry")
        if data.get("timezone") is not None:
            self.errors += validate_timezone(data["timezone"], "timezone")
        if "frequency_caps" in data:
            self.errors += frequency_caps_errors(data["frequency_caps"], "frequency_caps")

        steps = data.get("steps")
        if not isinstance(steps, list) or not steps:
            self.error("steps", "add at least one step" if steps in (None, []) else "must be a list of steps")
            steps = []
        self.claim_keys(steps)
        canonical_steps = self.step_list(steps, "steps", loop_vars=())

        canonical: dict[str, Any] = {"name": name, "trigger": data.get("trigger"), "steps": canonical_steps}
        if description:
            canonical["description"] = description
        for field, default in (("conditions", None), ("correlation_key", ""), ("reentry", Reentry.ALLOW),
                               ("exit_on", []), ("retry", None), ("timezone", None)):
            value = data.get(field, default)
            if value != default:
                canonical[field] = value
        if "frequency_caps" in data:  # an empty list too: it exempts the automation from the setting's caps
            canonical["frequency_caps"] = data["frequency_caps"]
        return canonical

    def retry_policy(self, policy: Any, path: str) -> None:
        if not isinstance(policy, dict):
            self.error(path, "must be an object with max_attempts, initial_interval, backoff_coefficient, max_interval")
            return
        for key in sorted(set(policy) - RETRY_FIELDS):
            self.error(f"{path}.{key}", "is not a retry field")
        attempts = policy.get("max_attempts", 1)
        if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 100:
            self.error(f"{path}.max_attempts", "must be a whole number from 1 to 100")
        for field in ("initial_interval", "max_interval"):
            if field in policy:
                try:
                    parse_duration(policy[field], field=f"{path}.{field}")
                except InvalidInput as exc:
                    self.errors += exc.errors
        coefficient = policy.get("backoff_coefficient", 1)
        if not isinstance(coefficient, (int, float)) or isinstance(coefficient, bool) or not 1 <= coefficient <= 10:
            self.error(f"{path}.backoff_coefficient", "must be a number from 1 to 10")

    # -- steps -----------------------------------------------------------------------------------

    def claim_keys(self, steps: list[Any]) -> None:
        """Collect every explicit key first, so generated keys never collide with a later one."""
        for step in steps:
            if not isinstance(step, dict):
                continue
            if isinstance(step.get("key"), str):
                self.keys.add(step["key"])
            for lane in lanes_of(step):
                if isinstance(step.get(lane), list):
                    self.claim_keys(step[lane])

    def step_key(self, step: dict[str, Any], path: str) -> str:
        key = step.get("key")
        if key is None:
            step_type = step_types.get(step.get("type"))
            base = step_type.key_base(step) if step_type is not None else step.get("type")
            base = re.sub(r"[^a-z0-9_]", "_", str(base or "step").lower())
            self.counter += 1
            key = f"{base}_{self.counter}"
            while key in self.keys:
                self.counter += 1
                key = f"{base}_{self.counter}"
            self.keys.add(key)
        elif not isinstance(key, str) or not KEY_PATTERN.match(key):
            self.error(f"{path}.key", f"{key!r} must be lowercase letters, digits, - or _ (at most 100)")
            return key if isinstance(key, str) else repr(key)
        if key in self.seen:
            self.error(f"steps.{key}.key", f"duplicate step key {key!r}; keys must be unique in the automation")
        self.seen.add(key)
        return key

    def step_list(self, steps: list[Any], path: str, loop_vars: tuple[str, ...]) -> list[dict[str, Any]]:
        result = []
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                self.error(f"{path}[{index}]", "must be a step object")
                continue
            result.append(self.step(step, f"{path}[{index}]", loop_vars))
        return result

    def step(self, step: dict[str, Any], position: str, loop_vars: tuple[str, ...]) -> dict[str, Any]:
        key = self.step_key(step, position)
        path = f"steps.{key}" if isinstance(key, str) and KEY_PATTERN.match(key) else position
        kind = step.get("type")
        step_type = step_types.get(kind)
        if step_type is None:
            self.error(f"{path}.type", f"{kind!r} is not a step type; use {', '.join(step_types.names())}")
            return {"key": key, "type": kind}
        for field in sorted(set(step) - COMMON_STEP_FIELDS - set(step_type.fields) - set(step_type.lanes)):
            self.error(f"{path}.{field}", f"is not a field of a {kind} step")
        canonical: dict[str, Any] = {"key": key, "type": kind}
        if "name" in step and not isinstance(step["name"], str):
            self.error(f"{path}.name", "must be text")
        elif step.get("name"):
            canonical["name"] = step["name"]
        return step_type.validate(self, step, path, loop_vars, canonical)

    def templates(self, value: Any, path: str, loop_vars: tuple[str, ...]) -> None:
        """Jinja syntax and known variable roots in every string inside ``value``."""
        if isinstance(value, dict):
            for key, item in value.items():
                self.templates(item, f"{path}.{key}", loop_vars)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.templates(item, f"{path}[{index}]", loop_vars)
        elif isinstance(value, str) and (problem := template_problem(value)):
            self.error(path, problem)
        elif is_template(value):
            unknown = sorted(referenced_roots(value) - set(ROOTS) - {"secrets"} - set(loop_vars))
            if unknown:
                self.error(path, f"unknown variable {unknown[0]!r}; use one of {', '.join((*ROOTS, *loop_vars))}")
            elif "secrets" in referenced_roots(vault.REFERENCE.sub("", value)):
                self.error(path, "use a secret only as {{ secrets.NAME }}, without filters or expressions")
