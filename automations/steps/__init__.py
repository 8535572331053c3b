"""Step types, one module each (action, branch, delay, loop, stop), and their registry.

Importing this package registers the built-in types; the app imports it while it loads its models,
since each type's ``Step`` model lives in its module.
"""
from automations.steps import action, branch, delay, loop, stop  # noqa: F401  (registers the built-ins)
from automations.steps.base import Next, Run, StepFailed, StepKind
from automations.steps.lanes import lanes_of, walk
from automations.steps.registry import register_step_type, step_types

__all__ = ["Next", "Run", "StepFailed", "StepKind", "lanes_of", "register_step_type", "step_types", "walk"]
