"""Test mode: run a definition against sample data in virtual time, with no side
effects — conditions are evaluated, delays pass in virtual time, actions are previewed, not performed,
and nothing is written. The result is a timeline a person can read: each step, its virtual time,
the branch taken and why, and what each action would have done."""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from automations import clock
from automations.actions import ActionContext, ActionError, Effect, registry
from automations.conditions import ConditionError, evaluate
from automations.durations import format_delta
from automations.durations import parse as parse_duration
from automations.engine import run_loop, wait_kinds
from automations.engine.attempts import after_failed_attempt
from automations.engine.loop_items import MemoryItems
from automations.card_retries import RETRY_LIMIT
from automations.holds import Held
from automations.messaging.gate import Gate
from automations.scope import Scope, UnstoredRun, build_scope, to_json
from automations.status import ExecutionStatus, StepRunStatus
from automations.steps import Next, step_types
from automations.steps.cursor import Program, initial_cursor, loop_index, loop_variables, step_done
from automations.templating import RenderError, empty_variables
from billing_events.gateway import BillingGateway, gateway_override

MAX_SIMULATED_STEPS = 5000
#: The roots of billing data an event's entities fill (what the billing system's mirror stores).
BILLING_ROOTS = ("customer", "invoice", "subscription", "payment")
MAX_HOLDS = 20  # a message held back again and again (by windows and caps) in one test run


class DataOnlyGateway(BillingGateway):
    """A gateway that knows nothing: steps read customers, invoices, ... from the test data alone."""

    def get_customer(self, customer_id: str) -> None:
        return None

    def get_invoice(self, invoice_id: str) -> None:
        return None

    def get_subscription(self, subscription_id: str) -> None:
        return None

    def get_payment(self, payment_id: str) -> None:
        return None

    def list_collection(self, name: str, *, after: str | None = None, limit: int = 200) -> tuple[list, None]:
        return [], None


@dataclass
class Scenario:
    """What a test run is told instead of predicting: for an action step, the outcome of each
    attempt (``{"retry": ["soft_decline", "pays"]}``; the last one listed goes on repeating; None: as
    predicted). An attempt may also be ``{"outcome": "fails_temporarily", "retry_after": "2h"}``:
    the server asks to be tried again no sooner than that (an HTTP 429 or 503 with Retry-After)."""

    outcomes: dict[str, list[Any]] = field(default_factory=dict)

    def outcome(self, step_key: str, attempt: int) -> tuple[str | None, float | None]:
        """The outcome chosen for attempt number ``attempt`` and the wait it asks for, in seconds."""
        chosen = self.outcomes.get(step_key)
        item = chosen[min(attempt, len(chosen)) - 1] if chosen else None
        if isinstance(item, dict):
            after = item.get("retry_after")
            return item.get("outcome"), parse_duration(after).total_seconds() if after else None
        return item, None


def simulate(definition: dict[str, Any], data: dict[str, Any], *, automation_id: int | None = None,
             trigger: dict[str, Any] | None = None, version: int | None = None,
             billing_data: bool = True, events: list[dict[str, Any]] | None = None,
             decisions: dict[str, Any] | None = None, decision: str = "approved",
             outcomes: dict[str, list[Any]] | None = None, variants: dict[str, str] | None = None,
             rehearsal: dict[str, list[Any]] | None = None) -> dict[str, Any]:
    """The timeline of ``definition`` run on ``data`` from now, in virtual time. Like a real run,
    steps read current billing data through the gateway; with ``billing_data=False`` they read
    the given data alone (to try a case the billing system does not have). Actions answer what
    they predict, or what ``outcomes`` chose for each attempt (see :class:`Scenario`), and the
    answer is handled as the worker handles it: retries, fallback lanes, ``on_failure``.

    ``events`` are simulated events (``{"type": "invoice.paid", "after": "2d"}``: that long after
    the run starts, optionally with the ``data`` it carries) as a live run meets them: a wait_for
    step sees them (without one it times out), what they say of the customer, invoice, ... is what
    later steps read (as the billing system's mirror stores it), and one that ``exit_on`` lists
    ends the run at its moment. An approval step takes the decision named for its key in
    ``decisions``, else ``decision``: at once, or ``{"decision": ..., "after": "1d"}`` that long after
    it asks (see :func:`automations.engine.approvals.decision_of`); a decision its timeout comes before is not taken.
    A split step takes the variant named for its key in ``variants``, else the one the run's data
    draws, as a live run would.

    ``rehearsal`` is what earlier simulated runs did that rules across runs count (a backtest's
    card charges: the networks' limits and declines for good hold across automations and runs);
    this run adds to it."""
    start = clock.now()
    run = UnstoredRun(automation_id, {**(trigger or {"type": "test"}), "version": version,
                                   "automation_name": definition.get("name", "")}, data, start)
    with clock.virtual_time(start), (nullcontext() if billing_data else gateway_override(DataOnlyGateway())):
        simulation = _Simulation(definition, run, start)
        simulation.events = [(_after(start, item.get("after") or "0s"), index, item["type"])
                             for index, item in enumerate(events or [])]
        simulation.events.sort()
        simulation.event_data = {index: item.get("data") or {} for index, item in enumerate(events or [])}
        simulation.decisions, simulation.decision = decisions or {}, decision
        simulation.scenario = Scenario(outcomes or {})
        simulation.forced_variants = dict(variants or {})
        if rehearsal is not None:
            simulation.rehearsal = rehearsal
        result = simulation.result()
    return {**result, "billing_data": billing_data}


def _after(start: datetime, after: str) -> datetime:
    """When a simulated event arrives; one past the calendar's end never does."""
    try:
        return start + parse_duration(after)
    except OverflowError:
        return datetime.max.replace(tzinfo=dt_timezone.utc)


class _Simulation:
    """A virtual run (the run loop's backend for test mode): nothing is written, steps are logged to
    a timeline, delays move a virtual clock, actions are previewed."""

    def __init__(self, definition: dict[str, Any], run: UnstoredRun, start: datetime) -> None:
        self.program = Program(definition)
        self.run = run
        self.outputs = run.outputs
        self.start = start
        self.cursor = initial_cursor()
        self.items = MemoryItems()  # the loops' items: kept in memory, nothing is written
        self.timeline: list[dict[str, Any]] = []
        self.steps_run = 0
        self.events: list[tuple[datetime, int, str]] = []  # simulated events: when, position, type
        self.event_data: dict[int, dict[str, Any]] = {}  # what each says, by position
        self.consumed: set[int] = set()  # taken by a wait_for step
        self.arrived: set[int] = set()
        self.wait_since = start  # the next wait counts events from here on
        self.decisions: dict[str, Any] = {}
        self.decision: Any = "approved"
        self.forced_variants: dict[str, str] = {}  # a split step's variant chosen by the test, by step key
        self.scenario = Scenario()
        self.waited: dict[str, Any] = {}  # how each wait under way ends, by step key
        self.sent: list[tuple[str, str, datetime]] = []  # messages "sent": customer, channel, virtual time
        self.holds: dict[tuple[str, str], int] = {}  # a step's holds in a row, by step key and loop index
        self.rehearsal: dict[str, list[Any]] = {}  # what the actions did, for rules that count it (card charges)
        # Billing data as the run's steps read it, with what its own actions changed applied
        # (nothing is written); an exit_on event one of them emitted ends the run at its next wait.
        self.billing: dict[str, Any] = {}
        definition = self.program.definition
        self.exit_types = set(definition.get("exit_on") or []) if definition.get("correlation_key") else set()
        self.exit_reason = ""
        self.exit_type = ""  # the exit_on event type one of its own steps emitted (exit_reason says which step)
        self.exited_on = ""  # the exit_on event type that ended the run, if one did
        self.ended: tuple[str, str] = (ExecutionStatus.FAILED, "")

    @property
    def now(self) -> datetime:
        return clock.now()

    def scope(self) -> Scope:
        return build_scope(self.run, now=clock.now(), loop_vars=loop_variables(self.cursor, self.loop_items),
                           billing=self.billing)

    def entry(self, step: dict[str, Any], index: str | None = None, **details: Any) -> dict[str, Any]:
        moment = clock.now()
        item = {"step": step["key"], "type": step["type"], "at": moment.isoformat(),
                "offset": format_delta(moment - self.start), "day": (moment - self.start).days, **details}
        index = loop_index(self.cursor) if index is None else index
        if index:
            item["loop_index"] = index
        self.timeline.append(to_json(item))
        return item

    # -- the run loop's backend -------------------------------------------------------------------

    def log(self, step: dict[str, Any], status: str, *, output: Any = None, error: str = "",
            index: str | None = None, attempt: int | None = None) -> None:
        if status == StepRunStatus.FAILED:
            self.entry(step, index, error=error)
        else:
            self.entry(step, index, **step_types.get(step["type"]).timeline(output, clock.now()))

    def atomic(self) -> nullcontext:
        return nullcontext()

    def commit(self, outcome: Next) -> None:
        if outcome.waits_for is not None:  # nothing is stored; the wait ends as the test says
            outcome.wake_at = wait_kinds.rehearse(self, outcome.waits_for)

    def wait_result(self, step: dict[str, Any]) -> Any:
        return self.waited.pop(step["key"], None)

    def keep_items(self, step: dict[str, Any], items: list[Any], *, index: str, offset: int) -> int:
        return self.items.keep(self.cursor, step["key"], items, index=index, offset=offset)

    def loop_items(self, ref: int) -> list[Any]:
        return self.items.get(ref)

    def goes_on(self, outcome: Next) -> bool:
        if outcome.status:
            self.ended = (outcome.status, outcome.error)
            return False
        # A live run hands back wherever it waits: a wait that is over at once too (an approval
        # decided as soon as it asks, an event already there), as it has a decision or an event to wait for.
        if outcome.waits_for is not None or (outcome.wake_at and outcome.wake_at > clock.now()):
            if self.exit_reason:  # the event its own step emitted ends it then
                self.ended = (ExecutionStatus.CANCELED, self.exit_reason)
                self.exited_on = self.exit_type
                return False
            until = max(outcome.wake_at or clock.now(), clock.now())
            if self._arrive(until):
                return False
            clock.set_virtual(until)  # the wait passes in virtual time
        return True

    def carry_on(self) -> bool:
        self.steps_run += 1
        if self.steps_run >= MAX_SIMULATED_STEPS:
            self.ended = (ExecutionStatus.FAILED, f"stopped after {MAX_SIMULATED_STEPS} steps")
            return False
        return True

    def next_step(self) -> None:
        pass

    def perform(self, step: dict[str, Any]) -> Next:
        """The action's predicted answer (or the one the scenario chose for this attempt), handled
        as the worker handles a performed action's: nothing is sent."""
        action = registry.get(step["action"])
        attempt = self.cursor[-1].get("attempt", 1)
        index = loop_index(self.cursor)
        context = ActionContext(execution_id=None, step_key=step["key"], loop_index=index, attempt=attempt,
                                variables=self.scope(), now=clock.now(),
                                idempotency_key=f"test:{step['key']}:{index or 0}", rehearsal=self.rehearsal)
        if action is None:
            return self._failed(step, attempt, ActionError(f"action {step['action']!r} is not registered"))
        try:
            config = action.render(step.get("config", {}), context.variables)
        except RenderError as exc:
            return self._failed(step, attempt, ActionError(f"config: {exc}"))
        chosen, retry_after = self.scenario.outcome(step["key"], attempt)
        gate = Gate(action, step.get("config", {}), context, self.program.definition) if action.channel else None
        try:
            held = self._held(gate.preview(clock.now(), self.sent) if gate is not None else None, step, index)
            if held is None and chosen != "gateway_error":  # an unreachable gateway has no rules to apply
                held = self._held(action.admit(config, context), step, index)
            if held is not None:
                return held
            would = action.scripted(chosen, config, context) if chosen else action.predict(config, context)
        except ActionError as exc:
            if retry_after is not None and exc.retryable:
                exc.retry_after = retry_after
            return self._failed(step, attempt, exc, chosen=chosen)
        except RenderError as exc:
            return self._failed(step, attempt, ActionError(f"config: {exc}"))
        if gate is not None and gate.customer_id:  # as live: only a message that went counts toward caps
            self.sent.append((gate.customer_id, action.channel, clock.now()))
        templates = action.templates(step.get("config", {}))
        warnings = [f"{path} rendered empty in {where}" for where, source in templates.items()
                    for path in empty_variables(source, context.variables.resolve)]
        self.entry(step, action=step["action"], would=would, **self._attempt(attempt, chosen),
                   **({"warnings": warnings} if warnings else {}))
        self.outputs[step["key"]] = to_json(would)
        self._apply(action.effect(would, context), context, step)
        step_done(self.cursor)
        return Next()

    def _arrive(self, until: datetime) -> bool:
        """The simulated events that arrive up to ``until`` (during a wait), in their order: what
        they say is what later steps read, and one that ``exit_on`` lists (and no wait_for step
        took) ends the run at its moment. True when the run ended."""
        for moment, index, kind in self.events:
            if index in self.arrived or moment > until:
                continue
            self.arrived.add(index)
            scope = self.scope()
            for root, fields in self.event_data[index].items():
                if root in BILLING_ROOTS and isinstance(fields, dict):
                    self._overlay(root, fields, scope)
            if kind in self.exit_types and index not in self.consumed:
                clock.set_virtual(max(moment, clock.now()))
                self.ended = (ExecutionStatus.CANCELED, f"exit_on: {kind} (test_event_{index + 1})")
                self.exited_on = kind
                return True
        return False

    def _apply(self, effect: Effect, context: ActionContext, step: dict[str, Any]) -> None:
        """What the action changed, as later steps read it; an exit_on event it emitted is noted."""
        for root, changes in effect.changes.items():
            self._overlay(root, changes, context.variables)
        emitted = next((kind for kind in effect.events if kind in self.exit_types), None)
        if emitted and not self.exit_reason:
            self.exit_reason = f"exit_on: {emitted} (emitted by step {step['key']})"
            self.exit_type = emitted
        for kind in effect.events:  # a wait_for later in this pass sees them, as live
            index = len(self.event_data)
            self.event_data[index] = {}
            self.events.append((clock.now(), index, kind))
        self.events.sort()

    def _overlay(self, root: str, fields: dict[str, Any], scope: Any) -> None:
        """``root`` (the invoice, the customer...) as later steps read it: as ``scope`` has it, with ``fields``."""
        current = scope.get(root)
        self.billing[root] = {**(current if isinstance(current, dict) else {}), **fields}

    def _failed(self, step: dict[str, Any], attempt: int, exc: ActionError, chosen: str | None = None) -> Next:
        """The attempt failed: the worker's own rule decides what follows (a retry wait, the
        fallback lane, carrying on, or the run failing), and the timeline says which."""
        outcome = after_failed_attempt(self.program.definition, self.cursor, self.outputs, step, attempt, str(exc),
                                       retryable=exc.retryable, retry_after=exc.retry_after,
                                       output=to_json(exc.output), now=clock.now())
        if outcome.wake_at is not None:
            then = f"retried in {format_delta(outcome.wake_at - clock.now())}"
        elif outcome.status:
            then = "the run fails"
        elif step.get("fallback"):
            then = "its fallback steps run"
        else:
            then = "the run carries on"
        self.entry(step, action=step["action"], error=str(exc), then=then, **self._attempt(attempt, chosen),
                   **({"output": to_json(exc.output)} if exc.output else {}))
        return outcome

    @staticmethod
    def _attempt(attempt: int, chosen: str | None) -> dict[str, Any]:
        return {**({"attempt": attempt} if attempt > 1 else {}), **({"scenario": chosen} if chosen else {})}

    def _held(self, held: Held | None, step: dict[str, Any], index: str) -> Next | None:
        """A step held back before its attempt, as live (a message by its send window and caps, a
        payment by the card networks' limits): a cap that skips it ends the step (its output
        ``{"skipped": ...}``); a hold is a wait like a delay, an entry of the timeline, after which
        the step is reached again and checked again (during it, an exit_on event ends the run).
        None when it may be attempted now."""
        where = (step["key"], index)
        if held is None:
            self.holds.pop(where, None)
            return None
        if held.skipped:
            self.holds.pop(where, None)
            self.entry(step, action=step["action"], **held.output())
            self.outputs[step["key"]] = held.output()
            step_done(self.cursor)
            return Next()
        self.holds[where] = self.holds.get(where, 0) + 1
        if self.holds[where] > MAX_HOLDS:
            del self.holds[where]
            by = "the card networks' retry limits" if held.reason == RETRY_LIMIT else "its send window and frequency caps"
            raise ActionError(f"held back by {by} more than {MAX_HOLDS} times in a row")
        self.entry(step, action=step["action"], **held.output(), waits=format_delta(held.until - clock.now()))
        return Next(wake_at=held.until)

    # -- the result ---------------------------------------------------------------------------------

    def result(self) -> dict[str, Any]:
        outcome: dict[str, Any] = {"version": self.run.trigger.get("version"), "started_at": self.start.isoformat()}
        try:
            entered = evaluate(self.program.definition.get("conditions"), self.scope().resolve)
        except ConditionError as exc:
            return {**outcome, "entered": False, "status": ExecutionStatus.FAILED, "error": f"conditions: {exc}",
                    "timeline": []}
        outcome.update(entered=entered.passed, conditions=entered.explain())
        if not entered.passed:
            return {**outcome, "status": "not_entered", "timeline": []}
        run_loop.run_steps(self)
        status, error = self.ended
        if self.exited_on:
            outcome["exited_on"] = self.exited_on
        return {**outcome, "status": status, "error": error, "timeline": self.timeline,
                "finished_at": clock.now().isoformat(), "duration": format_delta(clock.now() - self.start)}
