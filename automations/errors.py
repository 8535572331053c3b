"""Errors of the automations app beyond bad input (``billing_events.errors``)."""
from __future__ import annotations

from typing import Any

from billing_events.errors import Refused


class StateConflict(Refused):
    """Well-formed input that conflicts with the current state (no draft to activate, runs still
    live, an execution already ended, a name or an event id already taken, no such version): a 409."""

    status_code = 409


class StaleRevision(StateConflict):
    """A write based on a draft revision that is no longer the latest (someone saved or activated
    since): a 412 in the API. Its one error names the newer revision, who made it, when and what
    changed (``revision``, ``author``, ``at``, ``changes`` and, for a save, ``overwrite``: what
    saving anyway would change)."""

    status_code = 412


class Unavailable(Refused):
    """Something the request needs outside this app (the mail server) is out of reach or refused
    it: a 503; trying again later may work."""

    status_code = 503


class ActionError(Exception):
    """An action failed. ``retryable`` errors are tried again under the step's retry policy."""

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None,
                 output: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.output = output
