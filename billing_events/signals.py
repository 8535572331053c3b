"""Signals of billing_events; automations connects to them in its AppConfig.ready()."""
from django.dispatch import Signal

#: Sent once an event has been stored and its transaction committed. Argument: ``event``.
event_received = Signal()
