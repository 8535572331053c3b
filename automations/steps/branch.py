"""The branch step: evaluates its ``if`` and runs its ``then`` or ``else`` lane."""
from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from automations import conditions
from automations.conditions import ConditionError, evaluate
from automations.models.steps import Step
from automations.status import StepRunStatus
from automations.steps.base import Next, Run, StepFailed, StepJSON, StepKind
from automations.steps.cursor import step_done
from automations.steps.registry import register_step_type


@register_step_type
class BranchStep(StepKind, Step):
    type_name = "branch"
    fields = ("if",)
    lanes = ("then", "else")
    type_label = "Branch"
    type_description = "Go one way or another depending on a condition."
    type_icon = "branch"
    type_order = 40
    lane_labels = {"then": "Then", "else": "Else"}
    starts_with = {"if": {"all": [{"field": "", "operator": "equals", "value": ""}]}, "then": [], "else": []}
    # The first condition: the status of what the run is about, else whether the customer has an email.
    starts_with_data = tuple((root, {"if": {"all": [condition]}}) for root, condition in (
        ("invoice", {"field": "invoice.status", "operator": "equals", "value": "open"}),
        ("subscription", {"field": "subscription.status", "operator": "equals", "value": "active"}),
        ("payment", {"field": "payment.status", "operator": "equals", "value": "failed"}),
        ("usage", {"field": "usage.percent", "operator": "greater_than", "value": 100}),
        ("customer", {"field": "customer.email", "operator": "is_set"}),
    ))
    card_summary = ("If {if}",)
    output_schema = {"type": "object", "additionalProperties": False, "required": ["branch"],
                     "properties": {"branch": {"enum": ["then", "else"], "description": "The lane it took."}}}

    condition = models.JSONField(help_text="The branch's `if`.")
    history = HistoricalRecords()

    @classmethod
    def validate(cls, validator, step, path, loop_vars, canonical):
        condition = step.get("if")
        if not condition:
            validator.error(f"{path}.if", "is required: a condition such as {\"all\": [...]}")
        else:
            validator.errors += conditions.validate(condition, f"{path}.if", extra_roots=loop_vars)
        canonical["if"] = condition
        for lane in cls.lanes:
            steps = step.get(lane, [])
            if not isinstance(steps, list):
                validator.error(f"{path}.{lane}", "must be a list of steps")
                continue
            if steps:
                canonical[lane] = validator.step_list(steps, f"{path}.{lane}", loop_vars)
        if not step.get("then") and not step.get("else"):
            validator.error(f"{path}.then", "a branch needs at least one step in Then or Else")
        return canonical

    @classmethod
    def check_references(cls, checker, step, path, shadowed):
        checker.condition(step.get("if"), f"{path}.if", shadowed)
        return shadowed

    @classmethod
    def lane_guards(cls, step, lane):
        from automations.definition.guards import condition_guards  # definition reads the step registry

        return condition_guards(step.get("if"), lane == "then")

    @classmethod
    def schema_defs(cls, kit):
        return {"BranchStep": {
            **kit.object({"key": kit.step_key, "type": {"const": "branch"}, "name": {"type": "string"},
                          "if": kit.ref("Condition"), "then": kit.steps, "else": kit.steps}, ("type", "if")),
            "anyOf": [{"required": ["then"], "properties": {"then": {"minItems": 1}}},
                      {"required": ["else"], "properties": {"else": {"minItems": 1}}}]}}

    @classmethod
    def row_values(cls, step):
        return {"condition": step["if"]}

    def definition_fields(self):
        return {"if": self.condition}

    @classmethod
    def reach(cls, run: Run, step: StepJSON) -> Next:
        """Evaluate the ``if`` and enter ``then`` or ``else`` (or move on if that lane is empty)."""
        try:
            outcome = evaluate(step["if"], run.scope().resolve)
        except ConditionError as exc:
            raise StepFailed(str(exc)) from exc
        slot = "then" if outcome.passed else "else"
        if step.get(slot):
            run.cursor.append({"owner": step["key"], "slot": slot, "index": 0})
        else:
            step_done(run.cursor)
        run.log(step, StepRunStatus.SUCCEEDED, output={"branch": slot, "reason": outcome.explain(),
                                                       "checks": outcome.checks})
        run.outputs[step["key"]] = {"branch": slot}
        return Next()

    @classmethod
    def timeline(cls, output, now):
        return {"branch": output["branch"], "reason": output["reason"]}
