"""A ``noop`` step type declared outside the automations app, the way a host adds one: its model
(a ``Step`` subclass, with its migration) and its behaviour, in one module. It does nothing but
log its ``note``; the test registers it (``step_types.register_temporarily``)."""
from __future__ import annotations

from django.db import models

from automations.models import Step
from automations.status import StepRunStatus
from automations.steps import Next, StepKind
from automations.steps.cursor import step_done


class NoopStep(StepKind, Step):
    type_name = "noop"
    fields = ("note",)

    note = models.CharField(max_length=200, blank=True)

    @classmethod
    def validate(cls, validator, step, path, loop_vars, canonical):
        note = step.get("note", "")
        if not isinstance(note, str):
            validator.error(f"{path}.note", "must be text")
        elif note:
            validator.templates(note, f"{path}.note", loop_vars)
            canonical["note"] = note
        return canonical

    @classmethod
    def row_values(cls, step):
        return {"note": step.get("note", "")}

    def definition_fields(self):
        return {"note": self.note} if self.note else {}

    @classmethod
    def reach(cls, run, step):
        step_done(run.cursor)
        run.log(step, StepRunStatus.SUCCEEDED, output={"note": step.get("note", "")})
        run.outputs[step["key"]] = {"note": step.get("note", "")}
        return Next()
