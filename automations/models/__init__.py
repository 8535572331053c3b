"""Models of the automations app."""
from automations.models.automation import Automation, AutomationVersion
from automations.models.content import EmailTemplate, Task
from automations.models.execution import Execution, StepRun
from automations.models.exit_rule import ExitRule
from automations.models.scan import DerivedScan
from automations.models.secret import Secret
from automations.models.schedule import ScheduleState
from automations.models.steps import ActionStep, BranchStep, DelayStep, LoopStep, Step, StopStep

__all__ = [
    "ActionStep",
    "Automation",
    "AutomationVersion",
    "BranchStep",
    "DerivedScan",
    "DelayStep",
    "EmailTemplate",
    "Execution",
    "ExitRule",
    "LoopStep",
    "ScheduleState",
    "Secret",
    "Step",
    "StepRun",
    "StopStep",
    "Task",
]
