"""The action step: performs a registered action (``automations.actions``), with a retry policy,
``on_failure`` and a ``fallback`` lane run when it fails for good."""
from __future__ import annotations

from typing import Any

from django.db import models
from simple_history.models import HistoricalRecords

from automations import vault
from automations.actions import registry as actions
from automations.models.steps import ReferenceKind, Step
from automations.status import ExecutionStatus, OnFailure, StepRunStatus
from automations.steps.base import Next, Run, StepJSON, StepKind
from automations.steps.cursor import Frame, step_done
from automations.steps.registry import register_step_type
from billing_events.validation import schema_errors


@register_step_type
class ActionStep(StepKind, Step):
    type_name = "action"
    fields = ("action", "config", "retry", "on_failure")
    lanes = ("fallback",)
    commits_itself = True
    type_label = "Action"
    type_description = "Do something: send a message, change billing data, call a webhook (one of the actions)."
    type_icon = "action"
    type_order = 0
    lane_labels = {"fallback": "Fallback"}
    card_summary = ("{action}",)

    action = models.CharField(max_length=100)
    config = models.JSONField(default=dict, blank=True)
    retry = models.JSONField(null=True, blank=True)
    on_failure = models.CharField(max_length=10, choices=OnFailure.choices, default=OnFailure.FAIL)
    history = HistoricalRecords()

    @classmethod
    def key_base(cls, step: StepJSON) -> str:
        return step.get("action")

    @classmethod
    def validate(cls, validator, step, path, loop_vars, canonical):
        key = step.get("action")
        action = actions.get(key) if isinstance(key, str) else None
        config = step.get("config", {})
        if action is None:
            validator.error(f"{path}.action", f"unknown action {key!r}; available: {', '.join(actions.keys())}")
        elif not isinstance(config, dict):
            validator.error(f"{path}.config", "must be an object")
        else:
            before = len(validator.errors)
            validator.errors += [{"field": f"{path}.{e['field']}", "message": e["message"]}
                                 for e in schema_errors(action.config_schema, config, "config")]
            if len(validator.errors) == before:
                validator.errors += [{"field": f"{path}.{e['field']}", "message": e["message"]}
                                     for e in action.validate_config(config)]
            literal = {name: value for name, value in config.items() if name not in action.literal_fields}
            validator.templates(literal, f"{path}.config", loop_vars)
            validator.errors += vault.reference_errors(config, f"{path}.config")
        canonical.update(action=key, config=config)
        if step.get("retry") is not None:
            validator.retry_policy(step["retry"], f"{path}.retry")
            canonical["retry"] = step["retry"]
        on_failure = step.get("on_failure", OnFailure.FAIL)
        if on_failure not in OnFailure.values:
            validator.error(f"{path}.on_failure", f"{on_failure!r} is not one of {', '.join(OnFailure.values)}")
        elif on_failure != OnFailure.FAIL:
            canonical["on_failure"] = on_failure
        fallback = step.get("fallback", [])
        if not isinstance(fallback, list):
            validator.error(f"{path}.fallback", "must be a list of steps")
        elif fallback:
            canonical["fallback"] = validator.step_list(fallback, f"{path}.fallback", loop_vars)
        return canonical

    @classmethod
    def check_references(cls, checker, step, path, shadowed):
        action = actions.get(str(step.get("action")))
        literal = action.literal_fields if action else ()
        config = step.get("config")
        for name, value in (config.items() if isinstance(config, dict) else ()):
            if name not in literal:
                checker.strings(value, f"{path}.config.{name}", shadowed)
        if action is not None and isinstance(config, dict):
            # what the action renders besides its config (a stored email template), checked where it is chosen
            for where, source in action.templates(config).items():
                if not where.startswith("config."):
                    checker.template(f"{path}.config.template", source, shadowed, where=f"{where}: ")
        return shadowed

    @classmethod
    def schema_defs(cls, kit):
        defs = {}
        for action, config in kit.actions:
            if config is None:
                continue
            # config may be left out only where {} is a valid config
            required = ("type", "action", *(("config",) if not kit.accepts(config, {}) else ()))
            defs[f"ActionStep_{action.key}"] = kit.object({
                "key": kit.step_key, "type": {"const": "action"}, "name": {"type": "string"},
                "action": {"const": action.key, "description": action.label or action.key}, "config": config,
                "retry": kit.nullable(kit.ref("Retry")), "on_failure": {"enum": list(OnFailure.values)},
                "fallback": {"type": "array", "items": kit.ref("Step")}}, required, title=f"{action.key} step")
        return defs

    @classmethod
    def row_values(cls, step):
        return {"action": step["action"], "config": step.get("config", {}), "retry": step.get("retry"),
                "on_failure": step.get("on_failure", OnFailure.FAIL)}

    def definition_fields(self):
        data: StepJSON = {"action": self.action, "config": self.config}
        if self.retry is not None:
            data["retry"] = self.retry
        if self.on_failure != OnFailure.FAIL:
            data["on_failure"] = self.on_failure
        return data

    @classmethod
    def references(cls, step):
        found = super().references(step)
        action = actions.get(str(step.get("action")))
        config = step.get("config")
        if action is not None and isinstance(config, dict):
            found |= {(ReferenceKind.EMAIL_TEMPLATE, key) for key in action.email_templates(config)}
            origin = action.destination(config)
            if origin:
                found.add((ReferenceKind.ORIGIN, origin))
        return found

    @classmethod
    def waiting_state(cls, step_run, execution):
        # a message its send window or a frequency cap holds back (automations.messaging): the
        # deferral's row says until when and why
        if step_run.status == StepRunStatus.DEFERRED and execution.status == ExecutionStatus.WAITING:
            return "waiting", (step_run.output or {}).get("reason") or "waiting"
        return None

    @classmethod
    def reach(cls, run: Run, step: StepJSON) -> Next:
        # Performing differs by design: the worker performs the action (an intent and a result,
        # recovery by idempotency key, retries); test mode previews it. Both end in after_failure.
        return run.perform(step)


def after_failure(cursor: list[Frame], outputs: dict[str, Any], step: StepJSON, error: str,
                  output: dict[str, Any] | None = None) -> str | None:
    """A step failed for good: enter its fallback, or carry on (``on_failure: continue``); later
    steps see ``steps.<key>.output`` with ``status: failed``, the error, and what the action said
    (a decline code, an HTTP status). Returns the run's error when it must fail now, else None."""
    message = f"step {step['key']}: {error}"
    outputs[step["key"]] = {**(output or {}), "status": "failed", "error": error}
    if step.get("fallback"):
        cursor.append({"owner": step["key"], "slot": "fallback", "index": 0,
                       "after": step.get("on_failure", OnFailure.FAIL), "error": message})
        return None
    if step.get("on_failure") == OnFailure.CONTINUE:
        step_done(cursor)
        return None
    return message
