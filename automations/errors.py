"""Errors of the automations app beyond bad input."""
from __future__ import annotations

from billing_events.errors import InvalidInput


class StateConflict(InvalidInput):
    """Well-formed input that conflicts with the current state (no draft to activate, runs still
    live, an execution already ended, a name or an event id already taken): a 409 in the API."""
