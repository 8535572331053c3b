"""The automation every benchmark runs, and the no-op task that is the carrier's baseline."""
from __future__ import annotations

from typing import Any

TEN_STEPS: dict[str, Any] = {
    "name": "Benchmark: ten steps",
    "trigger": {"type": "manual"},
    "steps": [
        {"key": "open", "type": "action", "action": "create_task", "config": {"title": "Open {{ invoice.number }}"}},
        {"key": "big", "type": "branch",
         "if": {"all": [{"field": "invoice.amount_due", "operator": "greater_than", "value": 100}]},
         "then": [{"key": "escalate", "type": "action", "action": "create_task",
                   "config": {"title": "Escalate {{ invoice.amount_due | money(invoice.currency) }}",
                              "priority": "high"}}],
         "else": [{"key": "small", "type": "stop"}]},
        *({"key": f"note_{n}", "type": "action", "action": "create_task",
           "config": {"title": "Note {{ customer.name }} " + str(n)}} for n in range(6)),
        {"key": "done", "type": "stop"},
    ],
}
STEPS_PER_RUN = 10  # open, big, escalate, note_0..note_5, done
NOOP = "automations.benchmarks.workload.noop"


def ten_steps_on(event_type: str) -> dict[str, Any]:
    """The ten-step automation started by ``event_type``, one run per event (no reentry rule)."""
    return {**TEN_STEPS, "name": f"Benchmark: ten steps on {event_type}",
            "trigger": {"type": "event", "event": event_type}, "reentry": "allow"}


def noop() -> None:
    """The baseline django-q2 task."""
