"""The split step: an experiment. Each run goes down variant A or variant B, weighted, and always the
same one for the same correlation value (one invoice, one customer): run again, tested, backtested or
live, it takes the lane it took before. Which lane is recorded on the run (the step's output), and
the outcomes compare the two (``automations.outcomes.experiments``)."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.validators import MaxValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from automations.correlation import correlation_value
from automations.models.steps import Step
from automations.status import StepRunStatus
from automations.steps.base import Next, Run, StepJSON, StepKind
from automations.steps.cursor import step_done
from automations.steps.registry import register_step_type

VARIANTS = ("a", "b")
#: How finely the weights divide the runs: 10,000 buckets, so a weight of 1 in 100 is 1%.
BUCKETS = 10_000


def assignment_value(run: Run, step: StepJSON, correlation_key: str) -> tuple[str, str]:
    """What a run's variant is drawn from, and what that is in words: the automation's correlation
    value (``invoice.id``), else the customer's id, else the run's data itself — so a run on the
    same invoice, customer or data takes the same variant, live and in a test."""
    data = run.scope().resolve("event.data")
    data = data if isinstance(data, dict) else {}
    if value := correlation_value(correlation_key, data):
        return value, f"{correlation_key} {value}"
    for path in ("customer.id", "invoice.customer_id", "subscription.customer_id", "payment.customer_id"):
        if customer := correlation_value(path, data):
            return customer, f"customer {customer}"
    return json.dumps(data, sort_keys=True, default=str), "the run's data"


def variant_for(value: str, automation_id: Any, step_key: str, weights: dict[str, int]) -> str:
    """The variant ``value`` falls in: a stable hash of the automation, the step and the value into
    ``BUCKETS`` buckets, shared out by ``weights`` in the order of ``VARIANTS``."""
    digest = hashlib.sha256(f"{automation_id or ''}:{step_key}:{value}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % BUCKETS
    total = sum(weights.values())
    threshold = 0
    for variant in VARIANTS:
        threshold += weights.get(variant, 0) * BUCKETS
        if bucket * total < threshold:
            return variant
    return VARIANTS[-1]


def weights_of(step: StepJSON) -> dict[str, int]:
    return {"a": step.get("weight_a", 50), "b": step.get("weight_b", 50)}


@register_step_type
class SplitStep(StepKind, Step):
    type_name = "split"
    fields = ("weight_a", "weight_b")
    lanes = VARIANTS
    type_label = "Split (A/B test)"
    type_description = ("Send each run down variant A or B, by weight; the same invoice or customer always "
                        "takes the same variant. Outcomes compare the two.")
    type_icon = "split"
    type_order = 45
    lane_labels = {"a": "Variant A", "b": "Variant B"}
    starts_with = {"weight_a": 50, "weight_b": 50, "a": [], "b": []}
    card_summary = ("A {weight_a} : B {weight_b}",)
    output_schema = {"type": "object", "additionalProperties": False, "required": ["variant"],
                     "properties": {"variant": {"enum": list(VARIANTS), "description": "The variant the run took."}}}

    weight_a = models.PositiveSmallIntegerField(default=50, validators=[MaxValueValidator(100)],
                                                verbose_name="weight of variant A",
                                                help_text="Runs go to A and B in proportion to their weights.")
    weight_b = models.PositiveSmallIntegerField(default=50, validators=[MaxValueValidator(100)],
                                                verbose_name="weight of variant B")
    history = HistoricalRecords()

    @classmethod
    def validate(cls, validator, step, path, loop_vars, canonical):
        for field in cls.fields:  # written out even when left at their default
            weight = step.get(field, 50)
            if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 100:
                validator.error(f"{path}.{field}", f"must be a whole number from 0 to 100, not {weight!r}")
            canonical[field] = weight
        if all(isinstance(step.get(f, 50), int) for f in cls.fields) and sum(weights_of(step).values()) == 0:
            validator.error(f"{path}.weight_a", "A and B cannot both weigh 0: no run would have a variant")
        canonical = super().validate(validator, step, path, loop_vars, canonical)  # the lanes
        if not step.get("a") and not step.get("b"):
            validator.error(f"{path}.a", "a split needs at least one step in variant A or B "
                                         "(an empty variant is a control group that does nothing)")
        return canonical

    @classmethod
    def schema_defs(cls, kit):
        weight = {"type": "integer", "minimum": 0, "maximum": 100, "default": 50}
        return {"SplitStep": {
            **kit.object({"key": kit.step_key, "type": {"const": "split"}, "name": {"type": "string"},
                          "weight_a": {**weight, "title": "Weight of variant A",
                                       "description": "Runs go to A and B in proportion to their weights."},
                          "weight_b": {**weight, "title": "Weight of variant B"},
                          "a": kit.steps, "b": kit.steps}, ("type",)),
            "anyOf": [{"required": ["a"], "properties": {"a": {"minItems": 1}}},
                      {"required": ["b"], "properties": {"b": {"minItems": 1}}}],
            "not": {"required": ["weight_a", "weight_b"],
                    "properties": {"weight_a": {"const": 0}, "weight_b": {"const": 0}}}}}

    @classmethod
    def row_values(cls, step):
        return {"weight_a": step.get("weight_a", 50), "weight_b": step.get("weight_b", 50)}

    def definition_fields(self):
        return {"weight_a": self.weight_a, "weight_b": self.weight_b}

    @classmethod
    def reach(cls, run: Run, step: StepJSON) -> Next:
        """Draw the run's variant (or take the one a test chose) and enter its lane."""
        weights = weights_of(step)
        forced = getattr(run, "forced_variants", {}).get(step["key"])
        if forced:
            variant, reason = forced, "chosen by the test"
        else:
            value, by = assignment_value(run, step, run.program.definition.get("correlation_key") or "")
            variant = variant_for(value, run.scope().resolve("automation.id"), step["key"], weights)
            reason = f"by {by}"
        if step.get(variant):
            run.cursor.append({"owner": step["key"], "slot": variant, "index": 0})
        else:
            step_done(run.cursor)
        run.log(step, StepRunStatus.SUCCEEDED, output={"variant": variant, "reason": reason, "weights": weights})
        run.outputs[step["key"]] = {"variant": variant}
        return Next()

    @classmethod
    def timeline(cls, output, now):
        return {"variant": output["variant"], "reason": output["reason"]}


def with_variant_kept(steps: list[StepJSON], key: str, variant: str) -> list[StepJSON] | None:
    """``steps`` with the split step ``key`` (at any depth) replaced by the steps of its ``variant``
    (an experiment decided); None when no split step has that key."""
    from automations.steps.lanes import lanes_of  # lanes reads the registry this module registers into

    kept: list[StepJSON] = []
    found = False
    for step in steps:
        if step.get("key") == key and step.get("type") == SplitStep.type_name:
            kept += step.get(variant) or []
            found = True
            continue
        step = dict(step)
        for lane in lanes_of(step):
            inner = with_variant_kept(step.get(lane) or [], key, variant)
            if inner is not None:
                step[lane], found = inner, True
        kept.append(step)
    return kept if found else None
