"""Errors of the automations app beyond bad input."""
from __future__ import annotations

from typing import Any

from billing_events.errors import InvalidInput


class StateConflict(InvalidInput):
    """Well-formed input that conflicts with the current state (no draft to activate, runs still
    live, an execution already ended, a name or an event id already taken): a 409 in the API."""


class ActionError(Exception):
    """An action failed. ``retryable`` errors are tried again under the step's retry policy."""

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None,
                 output: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.output = output
