"""Step types, one module each (action, branch, delay, loop, stop, wait_for, approval), and their registry.

Importing this package registers the built-in types; the app imports it while it loads its models,
since each type's ``Step`` model lives in its module.
"""
from automations.steps import action, branch, delay, loop, split, stop  # noqa: F401  (registers the built-ins)
from automations.steps import wait_for, approval  # noqa: F401,I001  (after delay: they use its wake_time)
from automations.steps.base import Next, Run, StepFailed, StepKind
from automations.steps.lanes import lanes_of, walk
from automations.steps.registry import register_step_type, step_types

__all__ = ["Next", "Run", "StepFailed", "StepKind", "lanes_of", "register_step_type", "step_types", "walk"]
