"""Test mode (SPEC section 11): run a definition against sample data in virtual time, with no side
effects — conditions are evaluated, delays pass in virtual time, actions are previewed, not performed,
and nothing is written. The result is a timeline a person can read: each step, its virtual time,
the branch taken and why, and what each action would have done."""
from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from automations import clock
from automations.actions import ActionContext, ActionError, registry
from automations.conditions import ConditionError, evaluate
from automations.durations import format_delta
from automations.engine.context import Scope, Unsaved, build_scope, to_json
from automations.engine.flow import (StepFailed, after_failure, enter_loop, pass_delay, refill_page, stop,
                                    take_branch)
from automations.engine.program import Program, initial_cursor, locate, loop_index, loop_variables, step_done
from automations.status import ExecutionStatus
from automations.templating import RenderError, empty_variables
from billing_events.gateway import BillingGateway, gateway_override

MAX_SIMULATED_STEPS = 5000


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


def simulate(definition: dict[str, Any], data: dict[str, Any], *, automation_id: int | None = None,
             trigger: dict[str, Any] | None = None, version: int | None = None,
             billing_data: bool = True) -> dict[str, Any]:
    """The timeline of ``definition`` run on ``data`` from now, in virtual time. Like a real run,
    steps read current billing data through the gateway; with ``billing_data=False`` they read
    the given data alone (to try a case the billing system does not have)."""
    start = clock.now()
    run = Unsaved(automation_id, {**(trigger or {"type": "test"}), "version": version,
                                   "automation_name": definition.get("name", "")}, data, start)
    with clock.virtual_time(start), (nullcontext() if billing_data else gateway_override(DataOnlyGateway())):
        result = _Simulation(definition, run, start).result()
    return {**result, "billing_data": billing_data}


class _Simulation:
    def __init__(self, definition: dict[str, Any], run: Unsaved, start: datetime) -> None:
        self.program = Program(definition)
        self.run = run
        self.start = start
        self.cursor = initial_cursor()
        self.timeline: list[dict[str, Any]] = []

    def scope(self) -> Scope:
        return build_scope(self.run, now=clock.now(), loop_vars=loop_variables(self.cursor))

    def entry(self, step: dict[str, Any], index: str | None = None, **details: Any) -> dict[str, Any]:
        moment = clock.now()
        item = {"step": step["key"], "type": step["type"], "at": moment.isoformat(),
                "offset": format_delta(moment - self.start), "day": (moment - self.start).days, **details}
        index = loop_index(self.cursor) if index is None else index
        if index:
            item["loop_index"] = index
        self.timeline.append(to_json(item))
        return item

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
        status, error = self.walk()
        return {**outcome, "status": status, "error": error, "timeline": self.timeline,
                "finished_at": clock.now().isoformat(), "duration": format_delta(clock.now() - self.start)}

    def walk(self) -> tuple[str, str]:
        for _ in range(MAX_SIMULATED_STEPS):
            position = locate(self.program, self.cursor)
            if position.failed_step:
                return ExecutionStatus.FAILED, position.error
            if position.refill:
                owner = self.program.steps[position.refill["owner"]]
                try:
                    refill_page(self.cursor, owner, self.scope())
                except StepFailed as exc:
                    self.entry(owner, error=str(exc))
                    return ExecutionStatus.FAILED, f"step {owner['key']}: {exc}"
                continue
            if position.step is None:
                return ExecutionStatus.SUCCEEDED, ""
            step = position.step
            try:
                ended = getattr(self, f"_{step['type']}")(step)
            except StepFailed as exc:
                self.entry(step, error=str(exc))
                return ExecutionStatus.FAILED, f"step {step['key']}: {exc}"
            if ended:
                return ended
        return ExecutionStatus.FAILED, f"stopped after {MAX_SIMULATED_STEPS} steps"

    def _action(self, step: dict[str, Any]) -> tuple[str, str] | None:
        action = registry.get(step["action"])
        index = loop_index(self.cursor)
        context = ActionContext(execution_id=None, step_key=step["key"], loop_index=index, attempt=1,
                                variables=self.scope(), now=clock.now(),
                                idempotency_key=f"test:{step['key']}:{index or 0}")
        try:
            if action is None:
                raise ActionError(f"action {step['action']!r} is not registered")
            config = action.render(step.get("config", {}), context.variables)
            would = action.preview(config, context)
        except (ActionError, RenderError) as exc:
            self.entry(step, action=step["action"], error=str(exc))
            final_error = after_failure(self.cursor, self.run.outputs, step, str(exc))
            return (ExecutionStatus.FAILED, final_error) if final_error else None
        templates = action.templates(step.get("config", {}))
        warnings = [f"{path} rendered empty in {where}" for where, source in templates.items()
                    for path in empty_variables(source, context.variables.resolve)]
        self.entry(step, action=step["action"], would=would, **({"warnings": warnings} if warnings else {}))
        self.run.outputs[step["key"]] = to_json(would)
        step_done(self.cursor)
        return None

    def _branch(self, step: dict[str, Any]) -> None:
        slot, outcome = take_branch(self.cursor, step, self.scope())
        self.entry(step, branch=slot, reason=outcome.explain())
        self.run.outputs[step["key"]] = {"branch": slot}

    def _delay(self, step: dict[str, Any]) -> None:
        now = clock.now()
        until = pass_delay(self.cursor, step, self.scope(), now)
        self.entry(step, until=until.isoformat(), waits=format_delta(max(until - now, timedelta(0))))
        if until > now:
            clock.set_virtual(until)

    def _loop(self, step: dict[str, Any]) -> None:
        index = loop_index(self.cursor)
        count, truncated = enter_loop(self.cursor, step, self.scope())
        self.entry(step, index=index, items=count, truncated=truncated)

    def _stop(self, step: dict[str, Any]) -> tuple[str, str]:
        status, _, error = stop(self.cursor, step)
        self.entry(step, status=status)
        return status, error
