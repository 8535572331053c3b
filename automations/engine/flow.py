"""What each kind of step decides and how it moves the cursor — shared by the interpreter (real
runs) and test mode (virtual runs), so both take the same path through a definition."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from automations.conditions import MISSING, ConditionError, Outcome, evaluate
from automations.engine.context import Scope, to_json
from automations.engine.delays import wake_time
from automations.engine.program import Frame, step_done
from automations.status import ExecutionStatus, OnFailure
from automations.templating import RenderError
from billing_events.conf import app_settings


class StepFailed(Exception):
    """A branch, delay or loop could not be evaluated on this data; the run fails at that step."""


def take_branch(cursor: list[Frame], step: dict[str, Any], scope: Scope) -> tuple[str, Outcome]:
    """Evaluate the branch's ``if`` and enter ``then`` or ``else`` (or move on if that body is empty)."""
    try:
        outcome = evaluate(step["if"], scope.resolve)
    except ConditionError as exc:
        raise StepFailed(str(exc)) from exc
    slot = "then" if outcome.passed else "else"
    if step.get(slot):
        cursor.append({"owner": step["key"], "slot": slot, "index": 0})
    else:
        step_done(cursor)
    return slot, outcome


def pass_delay(cursor: list[Frame], step: dict[str, Any], scope: Scope, now: datetime) -> datetime:
    """When the delay ends; the cursor moves past it."""
    try:
        until = wake_time(step, scope, now)
    except (RenderError, ValueError) as exc:
        raise StepFailed(str(exc)) from exc
    step_done(cursor)
    return until


def enter_loop(cursor: list[Frame], step: dict[str, Any], scope: Scope) -> tuple[int, bool]:
    """Resolve the items and enter the first (or move on if there are none). Returns the number
    of items the loop will run (for a collection: in its first page) and whether ``max_items``
    cut the list short."""
    over = step["over"]
    if isinstance(over, dict):
        frame = {"owner": step["key"], "slot": "steps", "index": 0, "items": [], "item": 0, "offset": 0,
                 "as": step.get("as", "item"), "page": "", "taken": 0}
        cursor.append(frame)
        if not refill_page(cursor, step, scope):
            cursor.pop()
            step_done(cursor)
        return len(frame["items"]), False
    items = scope.resolve(over)
    if items is MISSING:
        raise StepFailed(f"over: {over} is not set")
    if not isinstance(items, (list, tuple)):
        raise StepFailed(f"over: {over} is not a list (it is {type(items).__name__})")
    limit = step.get("max_items") or app_settings.LOOP_MAX_ITEMS
    kept = to_json(list(items[:limit]))
    if kept:
        cursor.append({"owner": step["key"], "slot": "steps", "index": 0, "items": kept, "item": 0,
                       "as": step.get("as", "item")})
    else:
        step_done(cursor)
    return len(kept), len(items) > limit


def stop(cursor: list[Frame], step: dict[str, Any]) -> tuple[str, str, str]:
    """The run's final status, reason and error for a stop step."""
    status = step.get("status", ExecutionStatus.SUCCEEDED)
    step_done(cursor)
    reason = f"stopped at step {step['key']}"
    return status, reason, reason if status == ExecutionStatus.FAILED else ""


def after_failure(cursor: list[Frame], outputs: dict[str, Any], step: dict[str, Any], error: str,
                  output: dict[str, Any] | None = None) -> str | None:
    """A step failed for good: enter its fallback, or carry on (``on_failure: continue``); later
    steps see ``steps.<key>.output`` with ``status: failed``, the error, and what the action said
    (a decline code, an HTTP status). Returns the run's error when it must fail now, else None."""
    message = f"step {step['key']}: {error}"
    outputs[step["key"]] = {**(output or {}), "status": "failed", "error": error}
    if step.get("fallback"):
        cursor.append({"owner": step["key"], "slot": "fallback", "index": 0,
                       "after": step.get("on_failure", OnFailure.FAIL), "error": message})
        return None
    if step.get("on_failure") == OnFailure.CONTINUE:
        step_done(cursor)
        return None
    return message


PAGE_SIZE = 200
PAGES_PER_REFILL = 10


def refill_page(cursor: list[Frame], step: dict[str, Any], scope: Scope) -> bool:
    """Fetch the next matching records of a collection loop into its frame (the top one).

    Pages are read from the gateway and filtered by ``where``; at most ``PAGES_PER_REFILL`` pages
    per call, so a scan over a large collection goes on across steps (and tasks) instead of
    holding a worker. Returns False when the loop has nothing left to run.
    """
    from automations.conditions import evaluate as evaluate_condition

    frame = cursor[-1]
    over = step["over"]
    singular = over["collection"][:-1]
    limit = step.get("max_items") or app_settings.LOOP_MAX_ITEMS
    frame["offset"] = frame.get("offset", 0) + len(frame["items"])
    frame["items"], frame["item"], frame["index"] = [], 0, 0
    for _ in range(PAGES_PER_REFILL):
        if frame["page"] is None or frame["taken"] >= limit:
            frame["page"] = None
            break
        records, next_page = scope.gateway.list_collection(over["collection"], after=frame["page"] or None,
                                                           limit=PAGE_SIZE)
        frame["page"] = next_page
        for record in records:
            if frame["taken"] >= limit:
                break
            where = over.get("where")
            try:
                matched = not where or evaluate_condition(where, scope.with_variable(singular, record).resolve).passed
            except ConditionError as exc:
                raise StepFailed(f"over.where on {singular} {record.get('id')}: {exc}") from exc
            if matched:
                frame["items"].append(to_json(record))
                frame["taken"] += 1
        if frame["items"]:
            break
    return bool(frame["items"]) or bool(frame["page"])
