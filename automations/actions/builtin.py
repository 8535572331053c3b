"""The actions that ship with the app, registered in ``AutomationsConfig.ready()``."""
from automations.actions.billing import ApplyCredits, CreateCreditNote, RetryPayment, VoidInvoice
from automations.actions.communication import SendEmail, SendSlack, SendSMS, SendWebhook
from automations.actions.records import AddTag, CreateTask, SyncToCRM, UpdateCustomer

BUILTIN_ACTIONS = (
    SendEmail, SendSMS, SendSlack, SendWebhook,
    RetryPayment, VoidInvoice, CreateCreditNote, ApplyCredits,
    UpdateCustomer, AddTag, CreateTask, SyncToCRM,
)
