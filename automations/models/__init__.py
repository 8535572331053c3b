"""Models of the automations app. The step types' models are in ``automations.steps`` (one
module per type), loaded with these by ``AutomationsConfig.import_models``."""
from automations.models.automation import Automation, AutomationVersion
from automations.models.backtest import Backtest
from automations.models.card_charges import CardCharge, CardLock
from automations.models.content import EmailTemplate, Task
from automations.models.execution import Execution, StepRun
from automations.models.exit_rule import ExitRule
from automations.models.loop_items import LoopItems
from automations.models.messages import MessageLock, SentMessage
from automations.models.scan import DerivedScan
from automations.models.schedule_slot import ScheduleState
from automations.models.secret import Secret
from automations.models.skipped_start import SkippedStart, SkipReason
from automations.models.steps import ReferenceKind, Step, StepReference
from automations.models.tallies import EventTally, RecoveredBy, Recovery, Tally, TallyFold, TallyKind
from automations.models.approval import ApprovalRequest, ApprovalStatus
from automations.models.waits import EventWaiter, WaitRule

__all__ = [
    "ApprovalRequest",
    "ApprovalStatus",
    "Automation",
    "AutomationVersion",
    "Backtest",
    "CardCharge",
    "CardLock",
    "DerivedScan",
    "EmailTemplate",
    "EventTally",
    "EventWaiter",
    "Execution",
    "ExitRule",
    "LoopItems",
    "MessageLock",
    "RecoveredBy",
    "Recovery",
    "ReferenceKind",
    "ScheduleState",
    "Secret",
    "SentMessage",
    "SkipReason",
    "SkippedStart",
    "Step",
    "StepReference",
    "StepRun",
    "Tally",
    "TallyFold",
    "TallyKind",
    "Task",
    "WaitRule",
]
