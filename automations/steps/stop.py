"""The stop step: ends the run with a status (succeeded, failed or canceled)."""
from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from automations.models.steps import Step
from automations.status import ExecutionStatus, StepRunStatus, StopStatus
from automations.steps.base import Next, Run, StepJSON, StepKind
from automations.steps.cursor import step_done
from automations.steps.registry import register_step_type


@register_step_type
class StopStep(StepKind, Step):
    type_name = "stop"
    fields = ("status",)
    type_label = "Stop"
    type_description = "End the run here."
    type_icon = "stop"
    type_order = 60
    card_summary = ("End here ({status})", "End here (succeeded)")

    status = models.CharField(max_length=10, choices=StopStatus.choices, default=StopStatus.SUCCEEDED)
    history = HistoricalRecords()

    @classmethod
    def validate(cls, validator, step, path, loop_vars, canonical):
        status = step.get("status", StopStatus.SUCCEEDED)
        if status not in StopStatus.values:
            validator.error(f"{path}.status", f"{status!r} is not one of {', '.join(StopStatus.values)}")
        elif status != StopStatus.SUCCEEDED:
            canonical["status"] = status
        return canonical

    @classmethod
    def schema_defs(cls, kit):
        return {"StopStep": kit.object({"key": kit.step_key, "type": {"const": "stop"}, "name": {"type": "string"},
                                        "status": {"enum": list(StopStatus.values)}}, ("type",))}

    @classmethod
    def row_values(cls, step):
        return {"status": step.get("status", StopStatus.SUCCEEDED)}

    def definition_fields(self):
        return {"status": self.status} if self.status != StopStatus.SUCCEEDED else {}

    @classmethod
    def reach(cls, run: Run, step: StepJSON) -> Next:
        status = step.get("status", ExecutionStatus.SUCCEEDED)
        step_done(run.cursor)
        reason = f"stopped at step {step['key']}"
        run.log(step, StepRunStatus.SUCCEEDED, output={"status": status})
        return Next(status=status, reason=reason, error=reason if status == ExecutionStatus.FAILED else "")
