"""What a button will make a run do with money, in words ("Charges INV-2026-0042 1,250.00 USD"),
so that the run view asks before retrying a payment step, approving a lane that voids an invoice,
resuming a run whose next step charges a card or starting a new run from a run's data.

The text is computed from the steps the run is about to take — from its cursor up to the next step
that waits (a delay, a wait_for, an approval) or stops it — on the run's current billing data,
read through the gateway as the steps themselves will read it. A branch is followed the way its
condition goes on that data; after a money step its outcome is unknown, so both ways count. A
step that has already been attempted in this run is said to act "again", with the attempt
number; one that has not acts for the first time and is not. A new run is walked to
its end, past its waits (``whole_run``), and also counts the messages it sends.
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
from automations.models import AutomationVersion, Execution
from automations.scope import Scope, UnstoredRun, build_scope
from automations.status import StepRunStatus
from automations.steps.cursor import Program, loop_index, program_for
from automations.templating import RenderError

#: The actions that move money; every other action leaves the invoice's balance alone.
MONEY_ACTIONS = ("retry_payment", "void_invoice", "create_credit_note", "apply_credits")
#: Steps where a run stops to wait: what comes after them does not run when the button is pressed.
WAITING_STEPS = ("delay", "wait_for", "approval")
#: Each money action's verb: as a list item says it ("Charges ...") and after "may" ("charge ...").
VERBS = {"retry_payment": ("Charges", "charge"), "void_invoice": ("Voids", "void"),
         "create_credit_note": ("Credits", "credit"), "apply_credits": ("Applies", "apply")}
#: What a message-sending action sends, by its channel, in the singular and the plural.
MESSAGE_NOUNS = {"email": ("email", "emails"), "sms": ("SMS", "SMS"), "slack": ("Slack message", "Slack messages")}


def _amount(value: Any, currency: str) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return f"{value} {currency}".strip()
    return f"{amount:,.2f} {currency}".strip()


@dataclass(frozen=True)
class Effect:
    """One money action in words: ``text`` as a list item says it ("Charges INV-… 1,250.00 USD
    again (attempt 2 of step charge)"), ``may`` after "it may" ("charge INV-… 1,250.00 USD again")."""

    text: str
    may: str


def describe(step: dict[str, Any], scope: Scope, *, attempt: int = 1, again: bool = False) -> Effect | None:
    """What the money action ``step`` does to the run's invoice now, or None for another step.
    ``attempt`` > 1: the step has been attempted in this run already; ``again``: an earlier run did it."""
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
    repeat = " again" if again or attempt > 1 else ""
    if action.key == "retry_payment":
        method = config.get("payment_method")
        rest = f"{name} {due or 'its amount due'}{repeat}" + (
            f" with payment method {method}" if method and method != "default" else "")
    elif action.key == "void_invoice":
        rest = f"{name}{repeat}" + (f" ({due} due)" if due else "")
    elif action.key == "create_credit_note":
        rest = f"{given or due or 'the full amount'} on {name}{repeat}" + ("" if given else " (the full amount)")
    else:
        rest = (f"{given} of the customer's credit balance to {name}{repeat}" if given
                else f"the customer's credit balance to {name}{repeat}" + (f" (up to {due} due)" if due else ""))
    said, may = VERBS[action.key]
    return Effect(f"{said} {rest}" + (f" (attempt {attempt} of step {step['key']})" if attempt > 1 else ""),
                  f"{may} {rest}")


def message_noun(step: dict[str, Any]) -> str | None:
    """The channel of a step that messages a person ("email"), or None."""
    action = registry.get(step.get("action", "")) if step.get("type") == "action" else None
    return action.channel if action is not None and action.channel in MESSAGE_NOUNS else None


@dataclass
class _Walk:
    program: Program
    scope: Scope
    #: Attempts already made in this run, by step key: the next one is "again".
    tried: dict[str, int] = field(default_factory=dict)
    #: Steps an earlier run reached (a new run from a run's data): what they do is done "again".
    reached: frozenset[str] = frozenset()
    #: Walk a whole run: past its waits (after one, what the data will say is unknown) and into
    #: fallback lanes (they run if their step fails).
    whole_run: bool = False
    effects: list[Effect] = field(default_factory=list)
    #: The channel of each message the walk passes ("email", "email", "slack"), loops counted once.
    messages: list[str] = field(default_factory=list)
    #: False once a money step or a wait is passed: a branch after it may depend on what it did.
    known: bool = True

    def steps(self, steps: list[dict[str, Any]]) -> bool:
        """Walk ``steps`` in order; True when the run would stop there (a wait, a stop step)."""
        for step in steps:
            kind = step.get("type")
            if kind == "stop" or (kind in WAITING_STEPS and not self.whole_run):
                return True
            if kind in WAITING_STEPS:
                self.known = False
                continue
            effect = describe(step, self.scope, attempt=self.tried.get(step.get("key"), 0) + 1,
                              again=step.get("key") in self.reached)
            if effect is not None:
                if effect not in self.effects:
                    self.effects.append(effect)
                self.known = False
            elif message_noun(step):
                self.messages.append(message_noun(step))
            if kind == "branch":
                lanes = self._lanes(step)
                stopped = [self.steps(step.get(lane) or []) for lane in lanes]
                if len(lanes) == 1 and stopped[0] and not self.whole_run:
                    return True
            elif kind == "loop":
                self.steps(step.get("steps") or [])  # once: the same step for each item reads alike
            elif kind == "action" and self.whole_run:
                self.steps(step.get("fallback") or [])
        return False

    def _lanes(self, step: dict[str, Any]) -> tuple[str, ...]:
        if self.known:
            try:
                return ("then",) if evaluate(step["if"], self.scope.resolve).passed else ("else",)
            except (ConditionError, KeyError):
                pass
        return ("then", "else")


def _attempts(execution: Execution) -> dict[str, int]:
    """The attempts made so far of each step of ``execution``, for the loop item it is on."""
    tried: dict[str, int] = {}
    rows = (execution.step_runs.exclude(status=StepRunStatus.DEFERRED)
            .filter(loop_index=loop_index(execution.cursor or [])).values_list("step_key", "attempt"))
    for key, attempt in rows:
        tried[key] = max(tried.get(key, 0), attempt)
    return tried


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
    walk = _Walk(program_for(execution.version), build_scope(seen, now=clock.now()), tried=_attempts(execution))
    for depth in range(len(cursor) - 1, -1, -1):
        frame = cursor[depth]
        body = walk.program.body(frame)
        # an outer frame's index is the step whose lane is running: the walk goes on after it
        start = frame.get("index", 0) + (1 if after_current or depth < len(cursor) - 1 else 0)
        if walk.steps(body[start:]):
            break
    return [effect.text for effect in walk.effects]


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


@dataclass
class WholeRun:
    """What a new run of a version from an earlier run's data may do, to its end."""

    effects: list[Effect]
    messages: list[str]

    def message_counts(self) -> list[str]:
        """``["3 emails", "1 Slack message"]``, in the order the channels first come."""
        counts = {channel: self.messages.count(channel) for channel in self.messages}
        return [f"{count} {MESSAGE_NOUNS[channel][0 if count == 1 else 1]}" for channel, count in counts.items()]


def whole_run(version: AutomationVersion, earlier: Execution) -> WholeRun:
    """The money ``version`` may move and the messages it may send in a new run from ``earlier``'s
    data, every way its branches may go: what ``earlier`` reached it does "again"."""
    now = clock.now()
    run = UnstoredRun(version.automation_id, {"type": "manual"}, earlier.data or {}, started_at=now)
    reached = frozenset(earlier.step_runs.exclude(status=StepRunStatus.DEFERRED).values_list("step_key", flat=True))
    walk = _Walk(program_for(version), build_scope(run, now=now), reached=reached, whole_run=True)
    walk.steps(walk.program.definition["steps"])
    return WholeRun(walk.effects, walk.messages)
