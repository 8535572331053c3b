"""What the parity test generates: definitions that use every step type in nested lanes, and the
scenarios a live run and a test run are given (each attempt's answer, each approval's decision
and when, the customer's payment, the customer's timezone, the invoice's line items).

A definition is drawn step by step from a budget, so that it stays small enough to run live in a
fraction of a second; every key is unique and says what the step is (``mail_2``, ``hook_3``).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

#: Where webhooks and Slack messages go: the loopback server's address is put in by the test (its
#: port is chosen then).
LOOPBACK = "http://127.0.0.1:0"
#: The test processor's card for each outcome a scenario may choose for a payment.
CARDS = {"pays": "pm_card_ok", "soft_decline": "pm_card_declined", "hard_decline": "pm_card_lost",
         "credentials_decline": "pm_expired_card",
         "gateway_error": "pm_processor_unavailable"}
#: What an email's or a webhook's attempt may answer; a webhook may also ask to be tried again later
#: (HTTP 429 with Retry-After: ``retry_after_1h``; 503 with Retry-After: ``unavailable_after_1h``).
MESSAGE_OUTCOMES = ("succeeds", "fails_temporarily", "fails")
WEBHOOK_OUTCOMES = (*MESSAGE_OUTCOMES, "retry_after_30m", "retry_after_2d", "unavailable_after_1h")
DECISIONS = ("approved", "rejected", "timed_out")
#: Windows read on the customer's clock (else the automation's): the run starts on a Friday at
#: 10:00 UTC, which is 05:00 in New York, 11:00 in Berlin and 19:00 in Tokyo.
SEND_WINDOWS = ({"from": "09:00", "to": "17:00"},
                {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "18:00"},
                {"days": ["sat", "sun"], "from": "10:00", "to": "12:00"},
                {"days": ["tue"], "from": "00:00", "to": "24:00"})
TIMEZONES = ("America/New_York", "Asia/Tokyo", "Europe/Berlin")
RETRY_POLICIES = ({"max_attempts": 2, "initial_interval": "10m", "backoff_coefficient": 1, "max_interval": "10m"},
                  {"max_attempts": 3, "initial_interval": "1h", "backoff_coefficient": 2, "max_interval": "1d"})


@dataclass
class Scenario:
    """What happens around a run: ``outcomes`` of each attempt by action step (the last one listed
    repeats), ``decisions`` by approval step (the decision, and how long after the request),
    when the customer pays the invoice themselves, their timezone, the invoice's line items."""

    outcomes: dict[str, list[str]] = field(default_factory=dict)
    decisions: dict[str, tuple[str, str]] = field(default_factory=dict)
    paid_after: str | None = None
    timezone: str | None = "America/New_York"
    line_items: int = 2

    def outcome(self, step_key: str, attempt: int) -> str:
        """The outcome of attempt number ``attempt`` (1-based) of ``step_key``."""
        chosen = self.outcomes.get(step_key) or ["succeeds"]
        return chosen[min(attempt, len(chosen)) - 1]

    def as_predicted(self) -> bool:
        """Whether test mode predicts every attempt as the scenario has it: each payment attempt
        with the card put on file first, every message and webhook going out."""
        return all(len(set(chosen)) == 1 and (key == "retry" or chosen[0] == "succeeds")
                   for key, chosen in self.outcomes.items())


class _Budget:
    """How many more steps a definition may have, and the keys and outputs drawn so far."""

    def __init__(self, steps: int) -> None:
        self.left = steps
        self.numbers = itertools.count(1)
        self.before: list[tuple[str, str]] = []  # (key, kind) of the steps drawn so far, in order
        self.retry = False
        self.correlated = False  # the definition has a correlation key: wait_for steps may be drawn
        self.skipping: tuple[str, ...] = ()  # channels a frequency cap may skip a message of

    def key(self, kind: str) -> str:
        self.left -= 1
        return f"{kind}_{next(self.numbers)}"


def _task(key: str, title: str) -> dict[str, Any]:
    return {"key": key, "type": "action", "action": "create_task", "config": {"title": title}}


def _on_failure(draw: Any, step: dict[str, Any], budget: _Budget, in_loop: bool) -> None:
    """A retry policy (or the default one attempt), ``on_failure`` and maybe a fallback lane."""
    policy = draw(st.sampled_from((None, *RETRY_POLICIES)))
    if policy:
        step["retry"] = policy
    step["on_failure"] = draw(st.sampled_from(["fail", "continue"]))
    if budget.left > 0 and draw(st.booleans()):
        step["fallback"] = _lane(draw, budget, in_loop, depth=2, size=1)


def _email(draw: Any, budget: _Budget, in_loop: bool) -> dict[str, Any]:
    key = budget.key("mail")
    about = " {{ item.description }}" if in_loop else ""
    config: dict[str, Any] = {
        "to": "{{ customer.email }}", "subject": f"[{key}] {{{{ invoice.number }}}}{about}",
        "body": "Due: {{ invoice.amount_due | money(invoice.currency) }}; paid: "
                "{{ invoice.amount_paid | money(invoice.currency) }}; {{ invoice.status }}."}
    if draw(st.booleans()):
        config["send_window"] = draw(st.sampled_from(SEND_WINDOWS))
    step = {"key": key, "type": "action", "action": "send_email", "config": config}
    _on_failure(draw, step, budget, in_loop)
    return step


def _webhook(draw: Any, budget: _Budget, in_loop: bool) -> dict[str, Any]:
    key = budget.key("hook")
    body = {"step": key, "invoice": "{{ invoice.number }}", "status": "{{ invoice.status }}",
            **({"item": "{{ item.description }}"} if in_loop else {})}
    step = {"key": key, "type": "action", "action": "send_webhook",
            "config": {"url": f"{LOOPBACK}/hook", "body": body}}
    _on_failure(draw, step, budget, in_loop)
    return step


def _slack(draw: Any, budget: _Budget, in_loop: bool) -> dict[str, Any]:
    key = budget.key("chat")
    about = " {{ item.description }}" if in_loop else ""
    # the loopback server knows a message's attempts by what is in brackets: its step and item
    config: dict[str, Any] = {"text": f"[{key}{about}] {{{{ invoice.number }}}} is {{{{ invoice.status }}}}",
                              "webhook_url": f"{LOOPBACK}/slack"}
    if draw(st.booleans()):
        config["send_window"] = draw(st.sampled_from(SEND_WINDOWS))
    step = {"key": key, "type": "action", "action": "send_slack", "config": config}
    _on_failure(draw, step, budget, in_loop)
    return step


def _retry(draw: Any, budget: _Budget, in_loop: bool) -> dict[str, Any]:
    budget.left -= 1
    budget.retry = True
    step: dict[str, Any] = {"key": "retry", "type": "action", "action": "retry_payment", "config": {}}
    attempts = draw(st.integers(1, 3))
    if attempts > 1 or draw(st.booleans()):
        step["retry"] = {"max_attempts": attempts, "initial_interval": draw(st.sampled_from(["30m", "1h", "1d"])),
                         "backoff_coefficient": draw(st.sampled_from([1, 2, 3])),
                         "max_interval": draw(st.sampled_from(["1h", "2d"]))}
    step["on_failure"] = draw(st.sampled_from(["fail", "continue"]))
    if budget.left > 0 and draw(st.booleans()):
        step["fallback"] = _lane(draw, budget, in_loop, depth=2, size=1)
    return step


def _approval(draw: Any, budget: _Budget, in_loop: bool) -> dict[str, Any]:
    step: dict[str, Any] = {"key": budget.key("ask"), "type": "approval", "ask": "Write off {{ invoice.number }}?"}
    timeout = draw(st.sampled_from([None, "1h", "2d"]))
    if timeout:
        step["timeout"] = timeout
        on_timeout = draw(st.sampled_from([None, "approved", "rejected"]))
        if on_timeout:
            step["on_timeout"] = on_timeout
    return step


def _condition(draw: Any, budget: _Budget, in_loop: bool) -> dict[str, Any]:
    """A branch's ``if``: on the data, or on what an earlier step said."""
    choices = [("invoice.status", "equals", "paid")]
    if in_loop:
        choices.append(("item.quantity", "greater_than", 1))
    for key, kind in budget.before:
        choices += {"retry": [(f"steps.{key}.output.status", "equals", "succeeded"),
                              (f"steps.{key}.output.decline_code", "equals", "card_declined"),
                              (f"steps.{key}.output.decline.category", "equals", "hard")],
                    "ask": [(f"steps.{key}.output.decision", "equals", "approved"),
                            (f"steps.{key}.output.timed_out", "is_set", None)],
                    "mail": [(f"steps.{key}.output.status", "equals", "failed"),
                             *([(f"steps.{key}.output.skipped", "is_set", None)] if "email" in budget.skipping else [])],
                    "chat": [(f"steps.{key}.output.skipped", "is_set", None)] if "slack" in budget.skipping else [],
                    "hook": [(f"steps.{key}.output.status", "equals", "failed"),
                             (f"steps.{key}.output.status_code", "equals", 200),
                             (f"steps.{key}.output.status_code", "is_set", None)],
                    "wait_paid": [(f"steps.{key}.output.timed_out", "is_set", None),
                                  (f"steps.{key}.output.event", "equals", "invoice.paid")]}.get(kind, [])
    path, operator, value = draw(st.sampled_from(choices))
    return {"all": [{"field": path, "operator": operator, **({"value": value} if value is not None else {})}]}


def _branch(draw: Any, budget: _Budget, in_loop: bool, depth: int) -> dict[str, Any]:
    key = budget.key("when")
    condition = _condition(draw, budget, in_loop)
    step = {"key": key, "type": "branch", "if": condition,
            "then": _lane(draw, budget, in_loop, depth + 1, size=draw(st.integers(1, 2)), at_least_one=True),
            "else": _lane(draw, budget, in_loop, depth + 1, size=draw(st.integers(0, 1)))}
    return step


def _loop(draw: Any, budget: _Budget, depth: int) -> dict[str, Any]:
    """A loop over the invoice's line items: as the billing data has them now, or as the trigger
    event said (a field the event may lack, so guarded by a branch, as validation asks)."""
    over = draw(st.sampled_from(["invoice.line_items", "event.data.invoice.line_items"]))
    guard = budget.key("when") if over.startswith("event.") else None
    loop = {"key": budget.key("each"), "type": "loop", "over": over, "as": "item",
            "steps": _lane(draw, budget, True, depth + 1, size=draw(st.integers(1, 3)), at_least_one=True)}
    if guard is None:
        return loop
    return {"key": guard, "type": "branch", "if": {"all": [{"field": over, "operator": "is_set"}]}, "then": [loop]}


def _step(draw: Any, budget: _Budget, in_loop: bool, depth: int, correlated: bool) -> dict[str, Any]:
    kinds = ["mail", "hook", "chat", "task", "delay", "ask"]
    if depth > 0:  # a lane that ends the run: the else of a branch, a fallback
        kinds.append("stop")
    if depth < 2:
        kinds.append("when")
    if not in_loop and depth < 2:
        kinds.append("each")
    if not in_loop and not budget.retry:
        kinds += ["retry", "retry"]  # the payment is the heart of a dunning: drawn more often
    if correlated:
        kinds.append("wait_paid")
    kind = draw(st.sampled_from(kinds))
    if kind == "mail":
        step = _email(draw, budget, in_loop)
    elif kind == "hook":
        step = _webhook(draw, budget, in_loop)
    elif kind == "chat":
        step = _slack(draw, budget, in_loop)
    elif kind == "task":
        key = budget.key("task")
        step = _task(key, f"Call about {{{{ invoice.number }}}}{' {{ item.description }}' if in_loop else ''}")
    elif kind == "delay":
        step = {"key": budget.key("wait"), "type": "delay", "duration": draw(st.sampled_from(["30m", "1h", "3d"]))}
        if draw(st.booleans()):  # at a time of day on the customer's clock
            step["at"] = draw(st.sampled_from(["09:00", "20:00"]))
    elif kind == "ask":
        step = _approval(draw, budget, in_loop)
    elif kind == "stop":
        step = {"key": budget.key("stop"), "type": "stop"}
        status = draw(st.sampled_from([None, "failed", "canceled"]))
        if status:
            step["status"] = status
    elif kind == "when":
        step = _branch(draw, budget, in_loop, depth)
    elif kind == "each":
        step = _loop(draw, budget, depth)
    elif kind == "retry":
        step = _retry(draw, budget, in_loop)
    else:
        step = {"key": budget.key("wait_paid"), "type": "wait_for", "events": ["invoice.paid"],
                "timeout": draw(st.sampled_from(["1h", "2d"]))}
    budget.before.append((step["key"], step["key"].rsplit("_", 1)[0]))
    return step


def _lane(draw: Any, budget: _Budget, in_loop: bool, depth: int, size: int,
          at_least_one: bool = False) -> list[dict[str, Any]]:
    steps = []
    for _ in range(size):
        if budget.left <= 0 and not (at_least_one and not steps):
            break
        steps.append(_step(draw, budget, in_loop, depth, budget.correlated))
        if steps[-1]["type"] == "stop":
            break  # nothing after a stop would ever run
    return steps


@st.composite
def definitions(draw: Any) -> dict[str, Any]:
    """A definition on payment.failed with every step type within reach, lanes nested two deep."""
    budget = _Budget(draw(st.integers(3, 8)))
    budget.correlated = draw(st.booleans())  # runs know their invoice's events: exit_on, wait_for
    caps = None
    if draw(st.booleans()):  # drawn first: a branch may read that a cap skipped a message
        caps = [{"channels": draw(st.sampled_from([["email"], ["email", "slack"]])), "max": draw(st.integers(1, 2)),
                 "period": draw(st.sampled_from(["1h", "1d"])), "on_cap": draw(st.sampled_from(["delay", "skip"]))}]
        budget.skipping = tuple(caps[0]["channels"]) if caps[0]["on_cap"] == "skip" else ()
    steps = _lane(draw, budget, False, depth=0, size=budget.left, at_least_one=True)
    definition: dict[str, Any] = {"name": "Generated", "trigger": {"type": "event", "event": "payment.failed"},
                                  "steps": steps}
    if caps:
        definition["frequency_caps"] = caps
    if budget.correlated:
        definition["correlation_key"] = "invoice.id"
        # paying the invoice ends the run (its own payment, or the customer's): most dunnings say so
        if draw(st.sampled_from([True, True, False])):
            definition["exit_on"] = ["invoice.paid"]
    if draw(st.booleans()):  # the automation's timezone, for a customer who has none
        definition["timezone"] = draw(st.sampled_from(TIMEZONES))
    return definition


def _walk(steps: list[dict[str, Any]]):
    for step in steps:
        yield step
        for lane in ("then", "else", "steps", "fallback"):
            yield from _walk(step.get(lane) or [])


def _attempts(choices: tuple[str, ...] | list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(choices), min_size=1, max_size=3)


@st.composite
def cases(draw: Any) -> tuple[dict[str, Any], Scenario]:
    """A definition and a scenario for it."""
    definition = draw(definitions())
    scenario = Scenario(paid_after=draw(st.sampled_from([None, "30m", "1d", "3d"])),
                        timezone=draw(st.sampled_from([None, *TIMEZONES])), line_items=draw(st.integers(0, 3)))
    for step in _walk(definition["steps"]):
        key = step["key"]
        if step.get("action") == "retry_payment":
            scenario.outcomes[key] = draw(_attempts(sorted(CARDS)))
        elif step.get("action") in ("send_email", "send_slack"):
            scenario.outcomes[key] = draw(_attempts(MESSAGE_OUTCOMES))
        elif step.get("action") == "send_webhook":
            scenario.outcomes[key] = draw(_attempts(WEBHOOK_OUTCOMES))
        elif step["type"] == "approval":
            # nobody deciding an approval without a timeout leaves the run waiting for ever
            decisions = DECISIONS if step.get("timeout") else DECISIONS[:2]
            # at once (as a test run takes it when told nothing else) more often than later
            scenario.decisions[key] = (draw(st.sampled_from(decisions)),
                                       draw(st.sampled_from(["0s", "0s", "30m", "1d"])))
    return definition, scenario
