"""Correlation: which executions are "the same" (one invoice's dunning), for exit_on and reentry."""
from __future__ import annotations

from typing import Any


def correlation_value(key: str, data: dict[str, Any]) -> str:
    """The value of ``key`` (``invoice.id`` or ``event.data.invoice.id``) in a trigger's data, as
    text; empty when the key is unset or the data does not have it."""
    if not key:
        return ""
    parts = key.split(".")
    if parts[:2] == ["event", "data"]:
        parts = parts[2:]
    value: Any = data
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return ""
        value = value[part]
    return "" if value is None or isinstance(value, (dict, list)) else str(value)[:255]
