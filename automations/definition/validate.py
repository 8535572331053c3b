"""Validation of a definition. Every problem is reported with a path that names the step key.

``validate_definition`` returns the canonical form (step keys generated where omitted, default
values dropped), which is what gets stored and what ``version_to_definition`` gives back.
"""
from __future__ import annotations

import re
from typing import Any

from automations import conditions, vault
from automations.actions import registry
from automations.definition.references import check_references
from automations.durations import parse as parse_duration
from automations.status import OnFailure, Reentry, StopStatus
from automations.templating import is_template, referenced_roots, template_problem
from automations.triggers.validation import TIME_OF_DAY, validate_trigger
from automations.variables import ROOTS
from billing_events.catalogue import event_type_names, get_event_type
from billing_events.errors import InvalidInput
from billing_events.validation import check_json, contains_nul, schema_errors

Errors = list[dict[str, str]]

TOP_LEVEL = {"name", "description", "trigger", "conditions", "correlation_key", "reentry", "exit_on", "retry",
             "steps"}
STEP_FIELDS = {
    "action": {"key", "type", "action", "config", "retry", "on_failure", "fallback", "name"},
    "branch": {"key", "type", "if", "then", "else", "name"},
    "delay": {"key", "type", "duration", "until", "offset", "at", "name"},
    "loop": {"key", "type", "over", "as", "steps", "max_items", "name"},
    "stop": {"key", "type", "status", "name"},
}
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,49}$")
COLLECTIONS = ("customers", "invoices", "subscriptions")
RETRY_FIELDS = {"max_attempts", "initial_interval", "backoff_coefficient", "max_interval"}
MAX_LOOP_ITEMS = 10000


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
    def __init__(self) -> None:
        self.errors: Errors = []
        self.keys: set[str] = set()  # every explicit key, so generated ones avoid them
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
        if correlation_key and (not isinstance(correlation_key, str)
                                or correlation_key.split(".")[0] not in ROOTS):
            self.error("correlation_key", f"{correlation_key!r} must be a field path such as invoice.id")
        reentry = data.get("reentry", Reentry.ALLOW)
        if reentry not in Reentry.values:
            self.error("reentry", f"{reentry!r} is not one of {', '.join(Reentry.values)}")
        if reentry != Reentry.ALLOW and not correlation_key:
            self.error("reentry", f"{reentry} needs a correlation_key to know which executions are the same")
        exit_on = data.get("exit_on", [])
        if not isinstance(exit_on, list):
            self.error("exit_on", "must be a list of event types")
            exit_on = []
        for index, event in enumerate(exit_on):
            if not isinstance(event, str) or get_event_type(event) is None:
                self.error(f"exit_on[{index}]", f"unknown event type {event!r}; known: {', '.join(event_type_names())}")
        if exit_on and not correlation_key:
            self.error("exit_on", "needs a correlation_key to know which execution an event ends")
        if data.get("retry") is not None:
            self.retry_policy(data["retry"], "retry")

        steps = data.get("steps")
        if not isinstance(steps, list) or not steps:
            self.error("steps", "must be a non-empty list of steps")
            steps = []
        self.claim_keys(steps)
        canonical_steps = self.step_list(steps, "steps", loop_vars=())

        canonical: dict[str, Any] = {"name": name, "trigger": data.get("trigger"), "steps": canonical_steps}
        if description:
            canonical["description"] = description
        for field, default in (("conditions", None), ("correlation_key", ""), ("reentry", Reentry.ALLOW),
                               ("exit_on", []), ("retry", None)):
            value = data.get(field, default)
            if value != default:
                canonical[field] = value
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
            for body in ("then", "else", "steps", "fallback"):
                if isinstance(step.get(body), list):
                    self.claim_keys(step[body])

    def step_key(self, step: dict[str, Any], path: str) -> str:
        key = step.get("key")
        if key is None:
            base = step.get("action") if step.get("type") == "action" else step.get("type")
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
        if not isinstance(kind, str) or kind not in STEP_FIELDS:
            self.error(f"{path}.type", f"{kind!r} is not a step type; use {', '.join(STEP_FIELDS)}")
            return {"key": key, "type": kind}
        for field in sorted(set(step) - STEP_FIELDS[kind]):
            self.error(f"{path}.{field}", f"is not a field of a {kind} step")
        canonical: dict[str, Any] = {"key": key, "type": kind}
        if "name" in step and not isinstance(step["name"], str):
            self.error(f"{path}.name", "must be text")
        elif step.get("name"):
            canonical["name"] = step["name"]
        return getattr(self, f"{kind}_step")(step, path, loop_vars, canonical)

    def templates(self, value: Any, path: str, loop_vars: tuple[str, ...]) -> None:
        """Jinja syntax and known variable roots in every string inside ``value``."""
        if isinstance(value, dict):
            for key, item in value.items():
                self.templates(item, f"{path}.{key}", loop_vars)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.templates(item, f"{path}[{index}]", loop_vars)
        elif is_template(value):
            problem = template_problem(value)
            if problem:
                self.error(path, problem)
                return
            unknown = sorted(referenced_roots(value) - set(ROOTS) - {"secrets"} - set(loop_vars))
            if unknown:
                self.error(path, f"unknown variable {unknown[0]!r}; use one of {', '.join((*ROOTS, *loop_vars))}")
            elif "secrets" in referenced_roots(vault.REFERENCE.sub("", value)):
                self.error(path, "use a secret only as {{ secrets.NAME }}, without filters or expressions")

    def action_step(self, step, path, loop_vars, canonical):
        key = step.get("action")
        action = registry.get(key) if isinstance(key, str) else None
        config = step.get("config", {})
        if action is None:
            self.error(f"{path}.action", f"unknown action {key!r}; available: {', '.join(registry.keys())}")
        elif not isinstance(config, dict):
            self.error(f"{path}.config", "must be an object")
        else:
            before = len(self.errors)
            self.errors += [{"field": f"{path}.{e['field']}", "message": e["message"]}
                            for e in schema_errors(action.config_schema, config, "config")]
            if len(self.errors) == before:
                self.errors += [{"field": f"{path}.{e['field']}", "message": e["message"]}
                                for e in action.validate_config(config)]
            literal = {name: value for name, value in config.items() if name not in action.literal_fields}
            self.templates(literal, f"{path}.config", loop_vars)
            self.errors += vault.reference_errors(config, f"{path}.config")
        canonical.update(action=key, config=config)
        if step.get("retry") is not None:
            self.retry_policy(step["retry"], f"{path}.retry")
            canonical["retry"] = step["retry"]
        on_failure = step.get("on_failure", OnFailure.FAIL)
        if on_failure not in OnFailure.values:
            self.error(f"{path}.on_failure", f"{on_failure!r} is not one of {', '.join(OnFailure.values)}")
        elif on_failure != OnFailure.FAIL:
            canonical["on_failure"] = on_failure
        fallback = step.get("fallback", [])
        if not isinstance(fallback, list):
            self.error(f"{path}.fallback", "must be a list of steps")
        elif fallback:
            canonical["fallback"] = self.step_list(fallback, f"{path}.fallback", loop_vars)
        return canonical

    def branch_step(self, step, path, loop_vars, canonical):
        condition = step.get("if")
        if not condition:
            self.error(f"{path}.if", "is required: a condition such as {\"all\": [...]}")
        else:
            self.errors += conditions.validate(condition, f"{path}.if", extra_roots=loop_vars)
        canonical["if"] = condition
        for body in ("then", "else"):
            steps = step.get(body, [])
            if not isinstance(steps, list):
                self.error(f"{path}.{body}", "must be a list of steps")
                continue
            if steps:
                canonical[body] = self.step_list(steps, f"{path}.{body}", loop_vars)
        if not step.get("then") and not step.get("else"):
            self.error(f"{path}.then", "a branch needs steps in then or else")
        return canonical

    def delay_step(self, step, path, loop_vars, canonical):
        has_duration, has_until = "duration" in step, "until" in step
        if has_duration == has_until:
            self.error(f"{path}.duration", "give either duration (such as 3d) or until (a date template)")
        if has_duration:
            try:
                parse_duration(step["duration"], field=f"{path}.duration")
            except InvalidInput as exc:
                self.errors += exc.errors
            canonical["duration"] = step["duration"]
        if has_until:
            until = step["until"]
            if not isinstance(until, str) or not until.strip():
                self.error(f"{path}.until", "must be a date-time or a template such as {{ subscription.current_period_end }}")
            else:
                self.templates(until, f"{path}.until", loop_vars)
            canonical["until"] = until
            if "offset" in step:
                try:
                    parse_duration(step["offset"], field=f"{path}.offset", allow_negative=True)
                except InvalidInput as exc:
                    self.errors += exc.errors
                canonical["offset"] = step["offset"]
        elif "offset" in step:
            self.error(f"{path}.offset", "only goes with until")
        if "at" in step:
            if not isinstance(step["at"], str) or not TIME_OF_DAY.match(step["at"]):
                self.error(f"{path}.at", f"{step['at']!r} is not a time of day (HH:MM, 24-hour)")
            canonical["at"] = step["at"]
        return canonical

    def loop_step(self, step, path, loop_vars, canonical):
        over = step.get("over")
        if isinstance(over, str) and over.strip():
            if over.split(".")[0] not in (*ROOTS, *loop_vars):
                self.error(f"{path}.over", f"unknown variable {over.split('.')[0]!r}")
        elif isinstance(over, dict):
            if over.get("collection") not in COLLECTIONS:
                self.error(f"{path}.over.collection", f"must be one of {', '.join(COLLECTIONS)}")
            for field in sorted(set(over) - {"collection", "where"}):
                self.error(f"{path}.over.{field}", "is not a field of a collection")
            if over.get("where") is not None:
                singular = str(over.get("collection", ""))[:-1]
                self.errors += conditions.validate(over["where"], f"{path}.over.where",
                                                   extra_roots=(*loop_vars, singular))
        else:
            self.error(f"{path}.over", "is required: a list field such as invoice.line_items, or {\"collection\": ...}")
        canonical["over"] = over
        name = step.get("as", "item")
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            self.error(f"{path}.as", f"{name!r} must be a lowercase identifier such as item")
            name = "item"
        canonical["as"] = name
        if "max_items" in step:
            value = step["max_items"]
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_LOOP_ITEMS:
                self.error(f"{path}.max_items", f"must be a whole number from 1 to {MAX_LOOP_ITEMS}")
            canonical["max_items"] = value
        steps = step.get("steps")
        if not isinstance(steps, list) or not steps:
            self.error(f"{path}.steps", "a loop needs a non-empty list of steps")
            steps = []
        canonical["steps"] = self.step_list(steps, f"{path}.steps", (*loop_vars, name))
        return canonical

    def stop_step(self, step, path, loop_vars, canonical):
        status = step.get("status", StopStatus.SUCCEEDED)
        if status not in StopStatus.values:
            self.error(f"{path}.status", f"{status!r} is not one of {', '.join(StopStatus.values)}")
        elif status != StopStatus.SUCCEEDED:
            canonical["status"] = status
        return canonical
