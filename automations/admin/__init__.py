"""Admin for automations (with the builder page and draft revisions), executions (with the run
view and the step log), approval requests, email templates and tasks, and the event page's runs.

Editing goes through ``automations.services`` and the REST API, the same paths the API's clients
use, so the admin validates definitions exactly as they do.
"""
from automations.admin.approvals import ApprovalRequestAdmin
from automations.admin.automations import AutomationAdmin
from automations.admin.content import EmailTemplateAdmin, SecretAdmin, TaskAdmin
from automations.admin.events import EventAdmin
from automations.admin.executions import ExecutionAdmin

__all__ = ["ApprovalRequestAdmin", "AutomationAdmin", "EmailTemplateAdmin", "EventAdmin", "ExecutionAdmin",
           "SecretAdmin", "TaskAdmin"]
