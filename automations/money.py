"""What a button will make a run do with money, in words ("Charges INV-2026-0042 1,250.00 USD
again"), so that the run view asks before retrying a payment step, approving a lane that voids an
invoice or resuming a run whose next step charges a card.

The text is computed from the steps the run is about to take — from its cursor up to the next step
that waits (a delay, a wait_for, an approval) or stops it — on the run's current billing data,
read through the gateway as the steps themselves will read it. A branch is followed the way its
condition goes on that data; after a money step its outcome is unknown, so both ways count.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from automations import clock
from automations.actions import registry
from automations.actions.billing import parse_amount
from automations.errors import ActionError
from automations.conditions import ConditionError, evaluate
from automations.models import Execution
from automations.scope import Scope, build_scope
from automations.steps.cursor import Program, program_for
from automations.templating import RenderError

#: The actions that move money; every other action leaves the invoice's balance alone.
MONEY_ACTIONS = ("retry_payment", "void_invoice", "create_credit_note", "apply_credits")
#: Steps where a run stops to wait: what comes after them does not run when the button is pressed.
WAITING_STEPS = ("delay", "wait_for", "approval")


def _amount(value: Any, currency: str) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return f"{value} {currency}".strip()
    return f"{amount:,.2f} {currency}".strip()


def describe(step: dict[str, Any], scope: Scope) -> str | None:
    """What the money action ``step`` does to the run's invoice now, or None for another step."""
    action = registry.get(step.get("action", ""))
    if step.get("type") != "action" or action is None or action.key not in MONEY_ACTIONS:
        return None
    invoice = scope.resolve("invoice")
    invoice = invoice if isinstance(invoice, dict) else {}
    name = invoice.get("number") or invoice.get("id") or "the run's invoice"
    currency = str(invoice.get("currency") or "").upper()
    due = _amount(invoice["amount_due"], currency) if invoice.get("amount_due") is not None else None
    try:
        config = action.render(step.get("config", {}), scope)
    except RenderError:
        config = dict(step.get("config", {}))
    amount = config.get("amount")
    try:
        amount = parse_amount(amount, "config.amount")
    except ActionError:
        pass  # shown as written
    given = _amount(amount, currency) if amount not in (None, "") else None
    if action.key == "retry_payment":
        method = config.get("payment_method")
        how = f" with payment method {method}" if method and method != "default" else ""
        return f"Charges {name} {due or 'its amount due'} again{how}"
    if action.key == "void_invoice":
        return f"Voids {name}" + (f" ({due} due)" if due else "")
    if action.key == "create_credit_note":
        return f"Credits {given or due or 'the full amount'} on {name}" + ("" if given else " (the full amount)")
    return (f"Applies {given} of the customer's credit balance to {name}" if given
            else f"Applies the customer's credit balance to {name}" + (f" (up to {due} due)" if due else ""))


@dataclass
class _Walk:
    program: Program
    scope: Scope
    effects: list[str] = field(default_factory=list)
    #: False once a money step is passed: a branch after it may depend on what it did.
    known: bool = True

    def steps(self, steps: list[dict[str, Any]]) -> bool:
        """Walk ``steps`` in order; True when the run would stop there (a wait, a stop step)."""
        for step in steps:
            kind = step.get("type")
            if kind in WAITING_STEPS or kind == "stop":
                return True
            text = describe(step, self.scope)
            if text is not None:
                if text not in self.effects:
                    self.effects.append(text)
                self.known = False
            elif kind == "branch":
                lanes = self._lanes(step)
                stopped = [self.steps(step.get(lane) or []) for lane in lanes]
                if len(lanes) == 1 and stopped[0]:
                    return True
            elif kind == "loop":
                self.steps(step.get("steps") or [])  # once: the same step for each item reads alike
        return False

    def _lanes(self, step: dict[str, Any]) -> tuple[str, ...]:
        if self.known:
            try:
                return ("then",) if evaluate(step["if"], self.scope.resolve).passed else ("else",)
            except (ConditionError, KeyError):
                pass
        return ("then", "else")


def ahead(execution: Execution, *, after_current: bool = False,
          outputs: dict[str, Any] | None = None) -> list[str]:
    """The money the run moves from its cursor until it next waits: the step at the cursor first
    (unless ``after_current``: the run is past it once the button is pressed), with ``outputs``
    added to the run's step outputs (the decision an approval is about to take)."""
    cursor = execution.cursor or []
    if not cursor:
        return []
    seen = copy.copy(execution)
    seen.outputs = {**(execution.outputs or {}), **(outputs or {})}
    walk = _Walk(program_for(execution.version), build_scope(seen, now=clock.now()))
    for depth in range(len(cursor) - 1, -1, -1):
        frame = cursor[depth]
        body = walk.program.body(frame)
        # an outer frame's index is the step whose lane is running: the walk goes on after it
        start = frame.get("index", 0) + (1 if after_current or depth < len(cursor) - 1 else 0)
        if walk.steps(body[start:]):
            break
    return walk.effects


def retry_effects(execution: Execution) -> list[str]:
    """What "Retry from the failed step" moves: the failed step and those it goes straight on to."""
    return ahead(execution) if execution.status == "failed" else []


def approve_effects(request: Any) -> list[str]:
    """What approving ``request`` (an ApprovalRequest its run still waits on) moves: the steps
    after the approval, taking the approved lane."""
    execution = request.execution
    if execution.status != "waiting" or request.status != "pending":
        return []
    decision = {"decision": "approved", "by": None, "comment": ""}
    return ahead(execution, after_current=True, outputs={request.step_key: decision})

