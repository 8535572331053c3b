"""Signals of billing_events; automations connects to them in its AppConfig.ready()."""
from django.dispatch import Signal

#: Sent once an event has been stored and its transaction committed. Arguments: ``event``, and
#: ``written``: the rows written with it by the writers registered in ``billing_events.outbox``,
#: by their uid (empty when none).
event_received = Signal()
