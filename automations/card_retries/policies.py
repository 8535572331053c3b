"""Whether a ``retry_payment`` step's own retry policy could charge one card more often than a
card network allows: worth a warning where an operator writes the policy (the charges over the
limit would wait, or fail, when the run gets there)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from automations import clock
from automations.card_retries import network_limits
from automations.card_retries.limits import Attempt, Limit, check, in_words
from automations.engine.retry import retry_delay, retry_policy
from automations.steps.lanes import walk
from billing_events.errors import InvalidInput

#: The networks whose limits a policy is checked against (any other network's default is the
#: stricter of these two).
NETWORKS = ("mastercard", "visa")


def policy_warnings(definition: dict[str, Any]) -> list[dict[str, str]]:
    """A warning at ``steps.<key>.retry`` for each payment step whose policy alone would pass a limit."""
    warnings = []
    for step in walk(definition.get("steps")):
        if step.get("action") != "retry_payment" or not isinstance(step.get("retry"), dict):
            continue
        try:
            charges = _charge_times(definition.get("retry"), step["retry"])
        except (InvalidInput, KeyError, TypeError, ValueError):
            continue  # an invalid policy is an error of its own
        broken = _first_broken(charges)
        if broken is not None:
            limit, made = broken
            warnings.append({"field": f"steps.{step.get('key')}.retry", "message": (
                f"this policy can charge one card {made} times in {in_words(limit.within)}; {limit.text}: the "
                "charges past the limit wait until it allows them (or fail, as the step says)")})
    return warnings


def _charge_times(automation_retry: Any, step_retry: dict[str, Any]) -> list[timedelta]:
    """When each attempt of the step would charge, from its first, if every one is declined."""
    policy = retry_policy(automation_retry if isinstance(automation_retry, dict) else None, step_retry, decline=True)
    moments, at = [timedelta(0)], timedelta(0)
    for attempt in range(1, policy.max_attempts):
        at += retry_delay(policy, attempt)
        moments.append(at)
    return moments


def _first_broken(charges: list[timedelta]) -> tuple[Limit, int] | None:
    """The first network limit the charges pass, with how many fall in its period."""
    start = clock.now()
    for network in NETWORKS:
        for limit in network_limits(network):
            for index in range(len(charges)):
                made = [Attempt(Decimal("1"), start + moment) for moment in charges[:index]]
                if check([limit], made, Decimal("1"), start + charges[index]) is not None:
                    in_period = sum(1 for moment in charges if charges[index] - limit.within < moment <= charges[index])
                    return limit, in_period
    return None
