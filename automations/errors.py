"""Errors of the automations app beyond bad input."""
from __future__ import annotations

from typing import Any

from billing_events.errors import InvalidInput


class StateConflict(InvalidInput):
    """Well-formed input that conflicts with the current state (no draft to activate, runs still
    live, an execution already ended, a name or an event id already taken): a 409 in the API."""


class StaleRevision(StateConflict):
    """A write based on a draft revision that is no longer the latest (someone saved or activated
    since): a 412 in the API. Its one error names the newer revision, who made it, when and what
    changed (``revision``, ``author``, ``at``, ``changes`` and, for a save, ``overwrite``: what
    saving anyway would change)."""


class ActionError(Exception):
    """An action failed. ``retryable`` errors are tried again under the step's retry policy."""

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None,
                 output: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.output = output
