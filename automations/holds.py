"""A step held back before its attempt: it waits until a moment and is checked again then, or is
skipped. Messages are held by their send window and frequency caps (``automations.messaging``),
payments by the card networks' retry limits (``automations.card_retries``); the engine and test
mode treat every hold alike."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Held:
    """The step is not attempted now: it waits until ``until``, or is skipped (``until`` None)."""

    reason: str  # send_window, frequency_cap, retry_limit
    until: datetime | None
    text: str  # how the step log and the test timeline say it
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def skipped(self) -> bool:
        return self.until is None

    def output(self) -> dict[str, Any]:
        """The step's output (a skip: what the flow sees as ``steps.<key>.output``) or the
        deferral's log row."""
        head = {"skipped": self.reason} if self.skipped else {"deferred": self.reason, "until": self.until.isoformat()}
        return {**head, "reason": self.text, **self.details}
