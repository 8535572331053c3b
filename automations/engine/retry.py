"""Retry policies: a step's own over the automation's over the settings' default."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from automations.conf import app_settings
from automations.durations import parse as parse_duration


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    initial_interval: timedelta
    backoff_coefficient: float
    max_interval: timedelta


def retry_policy(automation_retry: dict[str, Any] | None, step_retry: dict[str, Any] | None, *,
                 decline: bool = False) -> RetryPolicy:
    """The step's policy over the automation's over ``AUTOMATIONS["RETRY"]``. For a payment
    decline, only the step's own ``max_attempts`` allows another attempt: waiting out a server's
    bad minute is the defaults' job, charging a declined card again is a decision made at the step."""
    merged = {**app_settings.RETRY, **(automation_retry or {})}
    if decline:
        merged["max_attempts"] = 1
    merged.update(step_retry or {})
    return RetryPolicy(
        max_attempts=int(merged["max_attempts"]),
        initial_interval=parse_duration(merged["initial_interval"]),
        backoff_coefficient=float(merged["backoff_coefficient"]),
        max_interval=parse_duration(merged["max_interval"]),
    )


def retry_delay(policy: RetryPolicy, attempt: int, retry_after: float | None = None) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1-based): the backoff, never past
    ``max_interval``; a server's Retry-After is honoured when it asks for longer, up to
    ``max_interval`` too (a server cannot park a run for longer than its policy allows)."""
    try:
        delay = policy.initial_interval * (policy.backoff_coefficient ** (attempt - 1))
    except OverflowError:  # a coefficient of 10 after 400 attempts: past any interval
        delay = policy.max_interval
    delay = min(delay, policy.max_interval)
    if retry_after is not None and math.isfinite(retry_after):
        asked = min(max(0.0, retry_after), policy.max_interval.total_seconds())
        delay = max(delay, timedelta(seconds=asked))
    return delay
