"""The actions that ship with the app, registered in ``AutomationsConfig.ready()``."""
from automations.actions.communication import SendEmail, SendSlack, SendSMS, SendWebhook
from automations.actions.records import CreateTask

BUILTIN_ACTIONS = (SendEmail, SendSMS, SendSlack, SendWebhook, CreateTask)
