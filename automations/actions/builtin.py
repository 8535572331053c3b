"""The actions that ship with the app, registered in ``AutomationsConfig.ready()``."""
from automations.actions.communication import SendEmail
from automations.actions.records import CreateTask

BUILTIN_ACTIONS = (SendEmail, CreateTask)
