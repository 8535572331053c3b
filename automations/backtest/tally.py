"""What a backtest counts: runs started or not (and why), how they ended (each stop step, exit
event, failure or the end of the steps), each step and action, emails by template, money by
currency for the billing actions, and a sample of the individual timelines."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from automations.card_retries import RETRY_LIMIT
from billing_events.gateway import get_gateway

SAMPLE_SIZE = 20
MONEY_ACTIONS = ("retry_payment", "void_invoice", "create_credit_note", "apply_credits")


@dataclass(eq=False)  # a run is itself: compared by identity
class Run:
    """One run the backtest replayed (or one that would not have started, with ``reason``)."""

    event_id: str
    occurred_at: datetime
    correlation: str = ""
    started: bool = True
    status: str = ""
    ending: str = ""
    reason: str = ""
    error: str = ""
    finished_at: datetime | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        """As JSON, to keep in a checkpoint."""
        moments = {"occurred_at": self.occurred_at.isoformat(),
                   "finished_at": self.finished_at.isoformat() if self.finished_at else None}
        return {**{name: getattr(self, name) for name in self.__dataclass_fields__}, **moments}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Run:
        finished = state.get("finished_at")
        return cls(**{**state, "occurred_at": datetime.fromisoformat(state["occurred_at"]),
                      "finished_at": datetime.fromisoformat(finished) if finished else None})

    def sample(self) -> dict[str, Any]:
        shown = {"event_id": self.event_id, "occurred_at": self.occurred_at.isoformat(),
                 "correlation_value": self.correlation, "started": self.started}
        if not self.started:
            return {**shown, "not_started": self.ending, "reason": self.reason}
        return {**shown, "status": self.status, "ending": self.ending, "reason": self.reason, "error": self.error,
                "finished_at": self.finished_at.isoformat() if self.finished_at else None, "timeline": self.timeline}


def _lanes(steps: list[Any]) -> dict[str, dict[str, Any]]:
    """Every step of a definition by key, whatever lane it sits in."""
    found: dict[str, dict[str, Any]] = {}
    stack = list(steps or [])
    while stack:
        step = stack.pop()
        if not isinstance(step, dict):
            continue
        found[step.get("key", "")] = step
        for value in step.values():
            if isinstance(value, list) and all(isinstance(item, dict) and "type" in item for item in value):
                stack.extend(value)
    return found


def _amount(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return None
    return amount if amount.is_finite() else None


class Tally:
    """Counts that grow run by run; ``result()`` is the JSON a backtest keeps."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.steps_by_key = _lanes(definition.get("steps", []))
        self.started = 0
        self.not_started: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.endings: Counter[str] = Counter()
        self.steps: dict[str, Counter[str]] = defaultdict(Counter)
        self.actions: dict[str, Counter[str]] = defaultdict(Counter)
        self.emails: Counter[str] = Counter()
        self.money: dict[str, dict[str, dict[str, Decimal | int]]] = defaultdict(dict)
        self._first_of_kind: dict[str, Run] = {}
        self._others: list[Run] = []

    def add(self, run: Run) -> None:
        if not run.started:
            self.not_started[run.ending] += 1
        else:
            self.started += 1
            self.statuses[run.status] += 1
            self.endings[run.ending] += 1
            for entry in run.timeline:
                self._count(entry)
        self._keep_sample(run)

    def _count(self, entry: dict[str, Any]) -> None:
        action = entry.get("action", "")
        if entry.get("deferred"):  # held back before its attempt: the attempt comes later, if at all
            if entry["deferred"] == RETRY_LIMIT:
                self._refused(action, entry, "held")
            return
        outcome = "errors" if entry.get("error") else "reached"
        self.steps[entry["step"]][outcome] += 1
        if entry["type"] != "action":
            return
        self.actions[action]["errors" if entry.get("error") else "count"] += 1
        if entry.get("error"):
            output = entry.get("output") or {}
            if action == "retry_payment" and output.get("status") == "failed":
                self._money(action, output)  # a declined charge is an attempt all the same
            elif action == "retry_payment" and output.get("status") == "refused":
                self._refused(action, entry, "refused")  # the card rules would not let it be made
            return
        if action == "send_email":
            config = self.steps_by_key.get(entry["step"], {}).get("config", {})
            self.emails[config.get("template") or "inline"] += 1
        elif action in MONEY_ACTIONS:
            self._money(action, entry.get("would") or {})

    def _refused(self, action: str, entry: dict[str, Any], kind: str) -> None:
        """A charge the card rules would refuse (``refused``) or hold back for now (``held``): not an
        attempt, counted apart by currency."""
        said = {**entry, **(entry.get("output") or {})}
        bucket = self.money[action].setdefault(said.get("currency") or "unknown", {"count": 0, "amount": Decimal("0")})
        bucket[kind] = bucket.get(kind, 0) + 1
        bucket[f"{kind}_amount"] = bucket.get(f"{kind}_amount", Decimal("0")) + (_amount(said.get("amount")) or 0)

    def _money(self, action: str, would: dict[str, Any]) -> None:
        call = would.get("would_call_gateway") or {}
        amount, currency = _amount(would.get("amount")), would.get("currency")
        if action != "retry_payment" or amount is None:
            amount, currency = self._invoice_amount(action, call)
        bucket = self.money[action].setdefault(currency or "unknown", {"count": 0, "amount": Decimal("0")})
        bucket["count"] += 1
        bucket["amount"] += amount or Decimal("0")
        if action == "retry_payment":
            succeeded = would.get("status") == "succeeded"
            bucket.setdefault("succeeded", 0)
            bucket.setdefault("succeeded_amount", Decimal("0"))
            if succeeded:
                bucket["succeeded"] += 1
                bucket["succeeded_amount"] += amount or Decimal("0")

    @staticmethod
    def _invoice_amount(action: str, call: dict[str, Any]) -> tuple[Decimal | None, str | None]:
        """The amount an operation would move, read from the billing data as it is now."""
        invoice = get_gateway().get_invoice(call.get("invoice_id") or "") if call.get("invoice_id") else None
        if not invoice:
            return _amount(call.get("amount")), None
        currency, due = invoice.get("currency"), _amount(invoice.get("amount_due"))
        given = _amount(call.get("amount"))
        if action == "create_credit_note":
            return given or _amount(invoice.get("total")), currency
        if action == "apply_credits":
            credits = get_gateway().get_credits(str(invoice.get("customer_id") or "")) or {}
            available = [value for value in (_amount(credits.get("balance")), due, given) if value is not None]
            return (min(available) if available else None), currency
        return given or due, currency

    def _keep_sample(self, run: Run) -> None:
        kind = run.ending if run.started else f"not_started:{run.ending}"
        if kind not in self._first_of_kind:
            self._first_of_kind[kind] = run
        elif len(self._others) < SAMPLE_SIZE:
            self._others.append(run)

    def state(self) -> dict[str, Any]:
        """The counts so far as JSON, to keep in a checkpoint (``restore`` reads it back)."""
        return {"started": self.started, "not_started": dict(self.not_started), "statuses": dict(self.statuses),
                "endings": dict(self.endings), "steps": {key: dict(counts) for key, counts in self.steps.items()},
                "actions": {key: dict(counts) for key, counts in self.actions.items()}, "emails": dict(self.emails),
                "money": {action: {currency: {name: str(value) if isinstance(value, Decimal) else value
                                              for name, value in bucket.items()}
                                   for currency, bucket in currencies.items()}
                          for action, currencies in self.money.items()},
                "first_of_kind": {kind: run.state() for kind, run in self._first_of_kind.items()},
                "others": [run.state() for run in self._others]}

    def restore(self, state: dict[str, Any]) -> None:
        self.started = state["started"]
        for name in ("not_started", "statuses", "endings", "emails"):
            getattr(self, name).update(state[name])
        for name in ("steps", "actions"):
            for key, counts in state[name].items():
                getattr(self, name)[key].update(counts)
        for action, currencies in state["money"].items():
            self.money[action] = {currency: {name: value if isinstance(value, int) else Decimal(value)
                                             for name, value in bucket.items()}
                                  for currency, bucket in currencies.items()}
        self._first_of_kind = {kind: Run.from_state(run) for kind, run in state["first_of_kind"].items()}
        self._others = [Run.from_state(run) for run in state["others"]]

    def samples(self) -> list[Run]:
        """The first run of each kind of ending, then the first others, up to SAMPLE_SIZE, in event order."""
        chosen = list(self._first_of_kind.values())[:SAMPLE_SIZE]
        chosen += self._others[:max(SAMPLE_SIZE - len(chosen), 0)]
        return sorted(chosen, key=lambda run: (run.occurred_at, run.event_id))

    def result(self) -> dict[str, Any]:
        money = {action: {currency: {name: str(value) if isinstance(value, Decimal) else value
                                     for name, value in bucket.items()}
                          for currency, bucket in sorted(currencies.items())}
                 for action, currencies in sorted(self.money.items())}
        return {
            "started": self.started,
            "not_started": dict(sorted(self.not_started.items())),
            "statuses": dict(sorted(self.statuses.items())),
            "endings": dict(sorted(self.endings.items())),
            "steps": {key: dict(counts) for key, counts in sorted(self.steps.items())},
            "actions": {key: {"count": counts["count"], "errors": counts["errors"]}
                        for key, counts in sorted(self.actions.items())},
            "emails": dict(sorted(self.emails.items())),
            "money": money,
            "samples": [run.sample() for run in self.samples()],
        }
