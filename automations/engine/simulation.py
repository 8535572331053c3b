"""Test mode (SPEC section 11): run a definition against sample data in virtual time, with no side
effects — conditions are evaluated, delays pass in virtual time, actions are previewed, not performed,
and nothing is written. The result is a timeline a person can read: each step, its virtual time,
the branch taken and why, and what each action would have done."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from automations import clock
from automations.actions import ActionContext, ActionError, registry
from automations.conditions import MISSING, ConditionError, evaluate
from automations.durations import format_delta
from automations.engine.context import Scope, build_scope, to_json
from automations.engine.delays import wake_time
from automations.engine.program import Program, initial_cursor, locate, loop_index, loop_variables, step_done
from automations.status import ExecutionStatus, OnFailure
from automations.templating import RenderError, render_value
from billing_events.conf import app_settings

MAX_SIMULATED_STEPS = 5000


@dataclass
class _StandIn:
    """What build_scope reads from an execution, for a run that has no row."""

    automation_id: int | None
    trigger: dict[str, Any]
    data: dict[str, Any]
    started_at: datetime
    outputs: dict[str, Any] = field(default_factory=dict)
    pk: None = None


class _StepError(Exception):
    pass


def simulate(definition: dict[str, Any], data: dict[str, Any], *, automation_id: int | None = None,
             trigger: dict[str, Any] | None = None, version: int | None = None) -> dict[str, Any]:
    """The timeline of ``definition`` run on ``data`` from now, in virtual time."""
    start = clock.now()
    run = _StandIn(automation_id, {**(trigger or {"type": "test"}), "version": version,
                                   "automation_name": definition.get("name", "")}, data, start)
    with clock.virtual_time(start):
        return _Simulation(definition, run, start).result()


class _Simulation:
    def __init__(self, definition: dict[str, Any], run: _StandIn, start: datetime) -> None:
        self.program = Program(definition)
        self.run = run
        self.start = start
        self.cursor = initial_cursor()
        self.timeline: list[dict[str, Any]] = []

    def scope(self) -> Scope:
        return build_scope(self.run, now=clock.now(), loop_vars=loop_variables(self.cursor))

    def entry(self, step: dict[str, Any], **details: Any) -> dict[str, Any]:
        moment = clock.now()
        item = {"step": step["key"], "type": step["type"], "at": moment.isoformat(),
                "offset": format_delta(moment - self.start), "day": (moment - self.start).days, **details}
        if loop_index(self.cursor):
            item["loop_index"] = loop_index(self.cursor)
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
            if position.step is None:
                return ExecutionStatus.SUCCEEDED, ""
            step = position.step
            try:
                ended = getattr(self, f"_{step['type']}")(step)
            except _StepError as exc:
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
            config = {name: value if name in action.literal_fields else render_value(value, context.variables)
                      for name, value in step.get("config", {}).items()}
            would = action.preview(config, context)
        except (ActionError, RenderError) as exc:
            self.entry(step, action=step["action"], error=str(exc))
            if step.get("fallback"):
                self.cursor.append({"owner": step["key"], "slot": "fallback", "index": 0,
                                    "after": step.get("on_failure", OnFailure.FAIL), "error": f"step {step['key']}: {exc}"})
                return None
            if step.get("on_failure") == OnFailure.CONTINUE:
                self.run.outputs[step["key"]] = {"status": "failed", "error": str(exc)}
                step_done(self.cursor)
                return None
            return ExecutionStatus.FAILED, f"step {step['key']}: {exc}"
        self.entry(step, action=step["action"], would=would)
        self.run.outputs[step["key"]] = to_json(would)
        step_done(self.cursor)
        return None

    def _branch(self, step: dict[str, Any]) -> None:
        try:
            outcome = evaluate(step["if"], self.scope().resolve)
        except ConditionError as exc:
            raise _StepError(str(exc)) from exc
        slot = "then" if outcome.passed else "else"
        self.entry(step, branch=slot, reason=outcome.explain())
        self.run.outputs[step["key"]] = {"branch": slot}
        if step.get(slot):
            self.cursor.append({"owner": step["key"], "slot": slot, "index": 0})
        else:
            step_done(self.cursor)

    def _delay(self, step: dict[str, Any]) -> None:
        try:
            until = wake_time(step, self.scope(), clock.now())
        except (RenderError, ValueError) as exc:
            raise _StepError(str(exc)) from exc
        self.entry(step, until=until.isoformat(), waits=format_delta(max(until - clock.now(), timedelta(0))))
        if until > clock.now():
            clock.set_virtual(until)
        step_done(self.cursor)

    def _loop(self, step: dict[str, Any]) -> None:
        items = self.scope().resolve(step["over"])
        if items is MISSING or not isinstance(items, (list, tuple)):
            raise _StepError(f"over: {step['over']} is {'not set' if items is MISSING else 'not a list'}")
        limit = step.get("max_items") or app_settings.LOOP_MAX_ITEMS
        self.entry(step, items=min(len(items), limit), truncated=len(items) > limit)
        if items:
            self.cursor.append({"owner": step["key"], "slot": "steps", "index": 0, "items": to_json(list(items[:limit])),
                                "item": 0, "as": step.get("as", "item")})
        else:
            step_done(self.cursor)

    def _stop(self, step: dict[str, Any]) -> tuple[str, str]:
        status = step.get("status", ExecutionStatus.SUCCEEDED)
        self.entry(step, status=status)
        return status, f"stopped at step {step['key']}" if status == ExecutionStatus.FAILED else ""
